"""The browser homepage in headless Chromium: profiles, rows, keyboard, details, the player,
thumbs, My List, search, the kids profile, errors with a retry, accessibility, and no console
errors on any page. Data is made before the browser opens and checked after it closes."""

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import Title
from events.models import Interaction
from members.models import Member
from tests.factories import AccountFactory, MemberFactory, TitleFactory
from tests.frontend.browser import (
    NARROW,
    accessibility_problems,
    api_status,
    browser_page,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KIDS_RATINGS = {"all", "7+"}


def catalogue(folder) -> None:
    """A simulated world's catalogue (names, synopses, genres; some titles new), and its
    members' plays of 30 titles this week, one to four each, so the page has Top Picks,
    Trending Now and New Releases with scores that differ."""
    from simulator.world import World

    World.generate(80, 6, seed=2).save(folder)
    call_command("seed_world", str(folder), stdout=StringIO())
    members = list(Member.objects.exclude(account__username="viewer"))
    for i, title in enumerate(Title.objects.order_by("-id")[:30]):
        for k in range(i % 4 + 1):
            Interaction.objects.create(
                event_id=uuid.uuid4(), type="play", member=members[(i + k) % len(members)],
                title=title, watched_seconds=600, occurred_at=timezone.now() - timedelta(hours=k + 1),
            )  # fmt: skip


def viewer(name="Ann", **kwargs) -> Member:
    account = AccountFactory(username="viewer", password="viewer-password")
    return MemberFactory(account=account, name=name, **kwargs)


def pick(page, member: Member) -> None:
    page.click(f".profile-tile[data-member-id='{member.pk}']")
    expect(page.locator(".row").first).to_be_visible(timeout=20000)


def shown_ids(page) -> set[int]:
    return set(
        page.eval_on_selector_all(
            ".rows .tile, .billboard-slot", "els => els.map(e => Number(e.dataset.titleId))"
        )
    )


def test_profiles_rows_keyboard_details_narrow_and_the_lab_door(
    live_server, chromium_path, tmp_path
):
    ann = viewer()
    catalogue(tmp_path / "world")
    a11y = {}
    with browser_page(chromium_path) as (page, console):
        sign_in(page, live_server.url, "viewer", "viewer-password")
        expect(page.locator(".profile-tile")).to_have_count(2)  # Ann and "Add profile"
        a11y["profiles"] = accessibility_problems(page)

        # Create, rename and delete a profile, all through the API.
        page.click(".profile-add")
        a11y["profile dialog"] = accessibility_problems(page)
        page.fill("#profile-name", "Ben")
        page.click(".profile-save")
        expect(page.locator(".profile-tile", has_text="Ben")).to_be_visible()
        page.click(".manage-profiles")
        page.click("button[aria-label='Rename Ben']")
        page.fill("#profile-name", "Bea")
        page.click(".profile-save")
        expect(page.locator(".profile-tile", has_text="Bea")).to_be_visible()
        page.click("button[aria-label='Delete Bea']")
        page.click(".delete-confirm")
        expect(page.locator(".profile-tile", has_text="Bea")).to_have_count(0)
        page.click(".manage-profiles")

        pick(page, ann)
        expect(page.locator(".billboard .billboard-art")).to_be_visible()
        assert page.locator(".row").count() >= 3
        tiles = page.locator(".rows .tile").count()
        assert tiles > 20 and page.locator(".rows .tile svg.tile-art").count() == tiles
        a11y["homepage"] = accessibility_problems(page)

        # Keyboard: one tab stop per row, the arrow keys move along it and scroll it.
        strip = page.locator(".row[data-row-key='top_picks'] .row-strip")
        strip.locator(".tile").first.focus()
        for _ in range(8):
            page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.dataset.position") == "8"
        assert strip.evaluate("s => s.scrollLeft") > 0
        expect(page.locator("#title-card")).to_be_visible()  # details on focus, too
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.rowKey") != "top_picks"

        # Details on hover: synopsis, genres, match, why, policy and whether it was explored.
        tile = page.locator(".row[data-row-key='trending_now'] .tile, .row .tile").first
        tile.hover()
        card = page.locator("#title-card")
        expect(card).to_be_visible()
        expect(card.locator(".card-synopsis")).to_contain_text(" in which ")
        expect(card).to_contain_text("not explored (probability 1.00)")
        expect(card.locator(".card-genres")).not_to_be_empty()
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "homepage", tmp_path)

        page.set_viewport_size(NARROW)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        a11y["homepage, narrow"] = accessibility_problems(page)
        screenshot(page, "homepage-narrow", tmp_path)

        # Not staff: no lab link, the lab page says so, and its API refuses.
        expect(page.locator(".lab-link")).to_be_hidden()
        page.goto(f"{live_server.url}/lab")
        expect(page.locator("#denied-heading")).to_have_text("The lab is for staff only")
        assert api_status(page, f"{live_server.url}/api/v1/lab/models") == 403
        assert api_status(page, f"{live_server.url}/api/v1/lab/health") == 403
        a11y["lab, refused"] = accessibility_problems(page)
        page.wait_for_load_state("networkidle")

    assert console.problems == []
    assert a11y == {name: [] for name in a11y}
    assert list(ann.account.members.values_list("name", flat=True)) == ["Ann"]
    assert Interaction.objects.filter(type="impression_seen", member=ann).exists()


def test_play_thumbs_my_list_search_and_a_retry(live_server, chromium_path, tmp_path):
    ann = viewer()
    catalogue(tmp_path / "world")
    for name in ("Zephyr A", "Zephyr B", "Zephyr C"):
        TitleFactory(genres=["Sci-Fi"], name=name, external_id=name.lower().replace(" ", "-"))
    a11y = {}
    with browser_page(chromium_path) as (page, console):
        sign_in(page, live_server.url, "viewer", "viewer-password")
        pick(page, ann)

        # Play: the player simulates watching; pause holds the position; stop posts the play.
        top = page.locator(".row[data-row-key='top_picks'] .tile").first
        played = int(top.get_attribute("data-title-id"))
        top.click()
        expect(page.locator(".detail-panel")).to_be_visible()
        a11y["details"] = accessibility_problems(page)
        page.click(".detail-panel .play-button")
        player = page.locator(".player")
        expect(player).to_have_attribute("data-state", "playing")
        page.wait_for_timeout(1500)
        screenshot(page, "player", tmp_path)
        a11y["player"] = accessibility_problems(page)
        page.click(".player-pause")
        paused_at = page.text_content(".player-position")
        page.wait_for_timeout(800)
        assert page.text_content(".player-position") == paused_at
        page.click(".player-pause")  # resume
        page.wait_for_timeout(800)
        assert page.text_content(".player-position") != paused_at
        page.click(".player-stop")
        expect(player).to_be_hidden(timeout=15000)
        watching = page.locator(
            f".row[data-row-key='continue_watching'] .tile[data-title-id='{played}']"
        )
        expect(watching.locator(".tile-progress-fill")).to_be_visible(timeout=15000)

        # A thumb down: the next homepage (shown when the panel closes) leaves the title out.
        disliked_tile = page.locator(".row[data-row-key='top_picks'] .tile").first
        disliked = int(disliked_tile.get_attribute("data-title-id"))
        disliked_tile.click()
        page.click(".detail-panel .thumb-down")
        expect(page.locator(".event-status")).to_contain_text("will not be shown")
        before = page.get_attribute("#home-view", "data-page-id")
        page.keyboard.press("Escape")
        expect(page.locator("#home-view")).not_to_have_attribute("data-page-id", before)
        assert disliked not in shown_ids(page)

        # My List: add from the details, see its row, remove it again.
        saved_tile = page.locator(
            ".row[data-row-key='trending_now'] .tile, .row[data-row-key='new_releases'] .tile"
        ).first
        saved = int(saved_tile.get_attribute("data-title-id"))
        saved_tile.click()
        page.click(".detail-panel .my-list-button")
        expect(page.locator(".detail-panel .my-list-button")).to_have_attribute(
            "aria-pressed", "true"
        )
        page.keyboard.press("Escape")
        in_list = page.locator(f".row[data-row-key='my_list'] .tile[data-title-id='{saved}']")
        expect(in_list).to_be_visible(timeout=15000)
        in_list.click()
        page.click(".detail-panel .my-list-button")
        expect(page.locator(".detail-panel .my-list-button")).to_have_attribute(
            "aria-pressed", "false"
        )
        page.keyboard.press("Escape")
        expect(page.locator(".row[data-row-key='my_list']")).to_have_count(0, timeout=15000)

        # Search: results as you type, and a play from search.
        page.fill("#search-input", "Zephyr")
        expect(page.locator(".search-heading")).to_have_text(
            "Results for “Zephyr” (3)", timeout=10000
        )
        a11y["search"] = accessibility_problems(page)
        page.locator(".results-grid .tile").first.click()
        page.click(".detail-panel .play-button")
        page.wait_for_timeout(1000)
        page.click(".player-stop")
        expect(page.locator(".player")).to_be_hidden(timeout=15000)

        # A request that fails shows a readable message and a retry that works.
        page.route("**/homepage", lambda route: route.abort())
        page.click(".refresh-button")
        expect(page.locator(".error-banner")).to_contain_text("Could not reach the server")
        page.unroute("**/homepage")
        seen = len(console.problems)
        page.click(".error-retry")
        expect(page.locator(".error-banner")).to_be_hidden()
        expect(page.locator(".row").first).to_be_visible()
        page.wait_for_load_state("networkidle")

    # The aborted request is the one console error the page may log (Chromium reports it).
    assert all("ERR_FAILED" in p for p in console.problems[:seen]) and console.problems[seen:] == []
    assert a11y == {name: [] for name in a11y}
    play = Interaction.objects.get(type="play", member=ann, title_id=played)
    assert play.watched_seconds >= 60 and play.page_id is not None
    assert play.row_key == "top_picks" and play.position == 0
    assert Interaction.objects.filter(type="thumb_down", member=ann, title_id=disliked).exists()
    search = Interaction.objects.get(type="search_play", member=ann)
    assert search.query == "Zephyr" and search.title.name.startswith("Zephyr")
    assert not ann.my_list.exists()


def test_a_kids_profile_shows_only_kids_titles_in_its_own_look(live_server, chromium_path):
    kid = viewer(name="Kids", is_kids=True)
    for rating in ("all", "7+", "13+", "16+", "18+"):
        TitleFactory.create_batch(8, maturity_rating=rating, genres=["Family"])
    TitleFactory(name="Space Pups", maturity_rating="all")
    TitleFactory(name="Space Horror", maturity_rating="18+")
    with browser_page(chromium_path) as (page, console):
        sign_in(page, live_server.url, "viewer", "viewer-password")
        pick(page, kid)
        ratings = page.eval_on_selector_all(
            ".rows .tile, .billboard-slot", "els => els.map(e => e.dataset.maturity || '')"
        )
        billboard_rating = page.evaluate(
            "document.querySelector('.billboard-slot') && document.querySelector('.billboard-meta').textContent"
        )
        assert page.evaluate("document.body.classList.contains('is-kids')")
        a11y = accessibility_problems(page)
        page.fill("#search-input", "Space")
        expect(page.locator(".search-heading")).to_have_text("Results for “Space” (1)")
        found = page.locator(".results-grid .tile-name").all_text_contents()
        page.wait_for_load_state("networkidle")
    tiles = [r for r in ratings if r]
    assert len(tiles) >= 16 and set(tiles) <= KIDS_RATINGS
    assert billboard_rating is None or not any(r in billboard_rating for r in ("13+", "16+", "18+"))
    assert found == ["Space Pups"]
    assert a11y == [] and console.problems == []


def test_wrong_password_shows_the_apis_message(live_server, chromium_path):
    AccountFactory(username="viewer", password="viewer-password")
    with browser_page(chromium_path) as (page, console):
        sign_in(page, live_server.url, "viewer", "wrong")
        expect(page.locator(".signin-error")).to_contain_text("Unable to log in")
        a11y = accessibility_problems(page)
    assert a11y == []
    # The refused sign-in itself is the one error the browser reports (a 400 response).
    assert all("400" in p for p in console.problems)
