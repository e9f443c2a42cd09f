"""The browser homepage in headless Chromium (Debian's package, driven by Playwright).

Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls while
one runs: data is made before the browser opens and checked after it closes.
"""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from events.models import Interaction
from tests.factories import AccountFactory, MemberFactory, TitleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def browser_page(chromium_path: str):
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            yield page, errors
        finally:
            browser.close()


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click(".signin-button")


def test_homepage_renders_rows_and_a_click_logs_a_play(live_server, chromium_path, tmp_path):
    account = AccountFactory(username="viewer", password="viewer-password")
    member = MemberFactory(account=account, name="Ann")
    TitleFactory.create_batch(25, genres=["Comedy"])
    TitleFactory.create_batch(5, genres=["Drama"], added_at=timezone.now() - timedelta(days=2))

    with browser_page(chromium_path) as (page, errors):
        sign_in(page, live_server.url, "viewer", "viewer-password")
        page.click(f".profile-tile[data-member-id='{member.pk}']")
        expect(page.locator(".row[data-row-key='new_releases']")).to_be_visible(timeout=15000)
        rows = page.locator(".row").count()
        expect(page.locator(".status-bar")).to_contain_text("fallback")
        tile = page.locator(".row[data-row-key='top_picks'] .tile").first
        title_id = int(tile.get_attribute("data-title-id"))
        tile.click()
        page.click(".play-button")
        expect(page.locator(".event-status")).to_have_text("Play recorded", timeout=15000)
        page.screenshot(path=str(tmp_path / "homepage.png"))
        # Impressions are batched and posted in the background (frontend/static/
        # impressions.js): let that request finish before the browser closes.
        page.wait_for_load_state("networkidle", timeout=15000)

    assert errors == []
    assert rows >= 2
    play = Interaction.objects.get(type="play", member=member)
    assert play.title_id == title_id
    assert play.row_key == "top_picks" and play.position == 0
    assert play.page_id is not None
    assert Interaction.objects.filter(type="impression_seen", member=member).exists()


def test_wrong_password_shows_the_apis_message(live_server, chromium_path):
    AccountFactory(username="viewer", password="viewer-password")
    with browser_page(chromium_path) as (page, _):
        sign_in(page, live_server.url, "viewer", "wrong")
        expect(page.locator(".signin-error")).to_contain_text("Unable to log in")
