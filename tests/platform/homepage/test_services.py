"""Page construction through its seams: the page context, the row builders in registry order,
rows filled without repeats, and a fixed number of queries per page."""

import uuid
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Impression, Interaction
from homepage import builders
from homepage.context import page_context_build
from homepage.rows import CandidateRow, rows_fill
from homepage.services import homepage_build
from modeling.features import title_features
from tests.factories import NOW, MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db


def play(member, title, minutes_ago, watched=600):
    Interaction.objects.create(
        event_id=uuid.uuid4(),
        type="play",
        member=member,
        title=title,
        watched_seconds=watched,
        occurred_at=NOW - timedelta(minutes=minutes_ago),
    )


def queries_for_a_page(member) -> int:
    """Queries of one page. Django splits a bulk insert on SQLite into statements of at most
    999 parameters (a limit of old SQLite builds, hard-coded in its backend), so the one
    insert of a page's impressions counts once, as it is on PostgreSQL."""
    homepage_build(member=member, at=NOW)  # warm the catalogue snapshot
    with CaptureQueriesContext(connection) as captured:
        homepage_build(member=member, at=NOW)
    inserts = [q for q in captured if q["sql"].startswith('INSERT INTO "events_impression"')]
    return len(captured) - max(len(inserts) - 1, 0)


def test_a_page_costs_the_same_queries_whatever_the_catalogue_and_history_size():
    """No query per title, per play or per row: the page's cost in queries is a constant."""
    member = MemberFactory()
    titles = TitleFactory.create_batch(10, genres=["Drama"])
    play(member, titles[0], 30)
    small = queries_for_a_page(member)
    more = TitleFactory.create_batch(60, genres=["Drama", "Comedy"])
    for i, title in enumerate(more[:20]):
        play(member, title, 20 - i, watched=60)
    assert queries_for_a_page(member) == small
    assert small <= 9, small  # experiments, gate, explorer and catalogue: one stamps query


def test_rows_come_in_registry_order_and_never_repeat_a_title():
    member = MemberFactory()
    titles = TitleFactory.create_batch(30, genres=["Drama"])
    play(member, titles[0], 30, watched=60)  # unfinished: Continue Watching, and an anchor
    page = homepage_build(member=member, at=NOW)
    order = [b.__name__ for b in builders.ROW_BUILDERS]
    keys = [row.key for row in page.rows]
    assert keys == sorted(keys, key=order.index)
    assert keys[:3] == ["billboard", "continue_watching", "top_picks"]
    shown = [slot.title.pk for row in page.rows for slot in row.slots]
    assert len(shown) == len(set(shown))
    assert Impression.objects.filter(page=page.page).count() == len(shown)


def test_rows_fill_gives_a_title_to_the_first_row_that_proposes_it():
    a, b, c, d = TitleFactory.create_batch(4)
    rows = rows_fill(
        [
            CandidateRow("one", "One", "", "p", [(a, 1.0), (b, 0.5)]),
            CandidateRow("empty", "Empty", "", "p", [(a, None), (b, None)]),
            CandidateRow("two", "Two", "", "p", [(b, 3.0), (c, 2.0), (d, 1.0)]),
        ],
        size=2,
    )
    assert [(r.key, [s.title for s in r.slots]) for r in rows] == [("one", [a, b]), ("two", [c, d])]


def test_a_new_row_kind_is_one_registered_function(monkeypatch):
    """The seam the explorer will use: a builder added to the registry appears on the page."""
    member = MemberFactory()
    TitleFactory.create_batch(5)

    def staff_picks(ctx):
        return CandidateRow(
            "staff_picks",
            "Staff Picks",
            "Chosen by us.",
            "staff",
            [(t, None) for t in reversed(ctx.unplayed)],
        )

    monkeypatch.setattr(builders, "ROW_BUILDERS", (staff_picks, *builders.ROW_BUILDERS))
    page = homepage_build(member=member, at=NOW)
    assert page.rows[0].key == "staff_picks" and page.rows[0].policy == "staff"


def test_the_context_holds_what_the_builders_read():
    member = MemberFactory()
    titles = TitleFactory.create_batch(4)
    later = TitleFactory(added_at=NOW + timedelta(days=1))
    play(member, titles[1], 10)
    ctx = page_context_build(member=member, at=NOW)
    assert set(ctx.titles) == {t.pk for t in titles} and later.pk not in ctx.titles
    assert [p.title_id for p in ctx.history] == [titles[1].pk]
    assert [t.pk for t in ctx.unplayed] == [titles[0].pk, titles[2].pk, titles[3].pk]
    assert ctx.trending == {titles[1].pk: 1.0}
    assert ctx.ranking.fallback and ctx.ranking.version is None


def test_trending_ranks_the_unplayed_titles_by_this_weeks_plays_then_by_id():
    member, others = MemberFactory(), MemberFactory.create_batch(3)
    titles = TitleFactory.create_batch(6)
    plays = {titles[4]: 3, titles[1]: 2, titles[2]: 2, titles[0]: 1, titles[5]: 3}
    for title, n in plays.items():
        for other in others[:n]:
            play(other, title, 60)
    play(others[0], titles[3], 60 * 24 * 8)  # last week's: not trending
    play(member, titles[5], 30)  # played by the member: left out
    row = builders.trending_now(page_context_build(member=member, at=NOW))
    assert [(t.pk, score) for t, score in row.ranked] == [
        (titles[4].pk, 3.0),
        (titles[1].pk, 2.0),
        (titles[2].pk, 2.0),
        (titles[0].pk, 1.0),
    ]


def test_every_impression_logs_its_own_titles_features():
    """The page's title features come from one call over all its slots: each impression must
    still hold what `title_features` gives its own title."""
    member = MemberFactory()
    for i in range(12):
        TitleFactory(
            added_at=NOW - timedelta(days=3 + 17 * i, minutes=i),
            release_date=date(1990 + 2 * i, 1 + i % 12, 1),
        )
    page = homepage_build(member=member, at=NOW)
    stored = list(Impression.objects.filter(page=page.page).select_related("title"))
    assert len(stored) >= 10
    for impression in stored:
        title = impression.title
        expected = title_features(added_at=title.added_at, release_date=title.release_date, at=NOW)
        assert {k: impression.features[k] for k in expected} == expected
