"""The homepage's first meaningful paint with 5,000 titles, measured in the browser and
reported (not asserted: the machine is shared; docs/benchmarks.md has the readings), and no
request per title: the page costs the same few API requests whatever the catalogue holds."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import Genre, Title
from events.models import Interaction
from tests.factories import AccountFactory, MemberFactory
from tests.frontend.browser import browser_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

N_TITLES = 5000
GENRES = ["Action", "Comedy", "Drama", "Family", "Horror", "Sci-Fi"]


def big_catalogue() -> list[Title]:
    now = timezone.now()
    titles = Title.objects.bulk_create(
        Title(
            external_id=f"t{i:05d}",
            name=f"Title {i}",
            kind="movie",
            maturity_rating="13+",
            runtime_minutes=90,
            release_date=(now - timedelta(days=i)).date(),
            synopsis="A story.",
            added_at=now - timedelta(days=i % 400),
        )  # fmt: skip
        for i in range(N_TITLES)
    )
    genres = [Genre.objects.get_or_create(name=name)[0] for name in GENRES]
    Title.genres.through.objects.bulk_create(
        Title.genres.through(title_id=t.pk, genre_id=genres[i % len(genres)].pk)
        for i, t in enumerate(titles)
    )
    return titles


def test_first_meaningful_paint_at_5000_titles_and_no_request_per_title(
    live_server, chromium_path, capsys
):
    account = AccountFactory(username="viewer", password="viewer-password")
    ann = MemberFactory(account=account, name="Ann")
    titles = big_catalogue()
    Interaction.objects.bulk_create(
        Interaction(
            event_id=uuid.uuid4(),
            type="play",
            member=ann,
            title=t,
            watched_seconds=600,
            occurred_at=timezone.now() - timedelta(hours=i + 1),
        )  # fmt: skip
        for i, t in enumerate(titles[:30])
    )
    with browser_page(chromium_path) as (page, console):
        sign_in(page, live_server.url, "viewer", "viewer-password")
        page.click(f".profile-tile[data-member-id='{ann.pk}']")
        expect(page.locator(".row").first).to_be_visible(timeout=60000)  # warms the catalogue
        api_calls: list[str] = []
        page.on("request", lambda r: "/api/v1/" in r.url and api_calls.append(r.url))
        page.reload()  # the token and the profile are remembered: straight to the homepage
        expect(page.locator(".row").first).to_be_visible(timeout=60000)
        page.wait_for_function("performance.getEntriesByName('homepage-painted').length > 0")
        timing = page.evaluate(
            """() => ({
              paint: performance.getEntriesByName('homepage-painted')[0].startTime,
              homepage: performance.getEntriesByType('resource')
                .filter(e => e.name.endsWith('/homepage'))
                .map(e => e.responseEnd - e.requestStart)[0],
              tiles: document.querySelectorAll('.rows .tile').length,
            })"""
        )
        page.wait_for_load_state("networkidle")
    with capsys.disabled():
        print(
            f"\n[speed] homepage at {N_TITLES} titles: first meaningful paint "
            f"{timing['paint']:.0f} ms after navigation (homepage request "
            f"{timing['homepage']:.0f} ms), {timing['tiles']} tiles, "
            f"{len(api_calls)} API requests"
        )
    assert console.problems == []
    assert timing["tiles"] > 60
    paths = sorted(url.split("/api/v1/")[1].split("?")[0] for url in api_calls)
    # who am I, the page, My List, and batched impressions: nothing per title
    assert [p for p in paths if p != "events"] == [
        "me",
        f"members/{ann.pk}/homepage",
        f"members/{ann.pk}/my-list",
    ]
    assert paths.count("events") <= 3
