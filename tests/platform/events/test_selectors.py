"""Reads of the fact log: what they return, and that each costs a fixed number of queries."""

import uuid
from datetime import timedelta

import pytest

from events.models import Interaction
from events.selectors import (
    PLAY_TYPES,
    play_history,
    play_list,
    plays_as_of,
    title_play_counts,
    trending_counts,
)
from tests.factories import NOW, MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db


def log(member, title, minutes_ago, kind="play", watched=600):
    return Interaction.objects.create(
        event_id=uuid.uuid4(),
        type=kind,
        member=member,
        title=title,
        watched_seconds=watched if kind in PLAY_TYPES else None,
        query="q" if kind == "search_play" else "",
        occurred_at=NOW - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def facts():
    member, other = MemberFactory(), MemberFactory()
    titles = TitleFactory.create_batch(6, genres=["Drama", "Comedy"])
    for i, title in enumerate(titles):
        log(member, title, minutes_ago=60 - i)  # titles[5] played last
    log(member, titles[0], minutes_ago=10)  # a replay: titles[0] is now the latest
    log(member, titles[1], minutes_ago=5, kind="search_play")
    log(member, titles[2], minutes_ago=4, kind="thumb_up")  # not a play
    log(member, titles[3], minutes_ago=-30)  # after NOW: not yet happened
    log(other, titles[4], minutes_ago=20)
    return member, other, titles


def test_play_history_is_one_record_per_title_newest_first_in_one_query(
    facts, django_assert_num_queries
):
    member, _, titles = facts
    with django_assert_num_queries(1):
        history = play_history(member_id=member.pk, at=NOW)
    order = [titles[1], titles[0], titles[5], titles[4], titles[3], titles[2]]
    assert [p.title_id for p in history] == [t.pk for t in order]


def test_trending_counts_plays_of_everyone_in_the_window_in_one_query(
    facts, django_assert_num_queries
):
    _, _, titles = facts
    with django_assert_num_queries(1):
        counts = title_play_counts(at=NOW, days=1)
    assert counts[titles[0].pk] == 2 and counts[titles[4].pk] == 2 and counts[titles[1].pk] == 2
    assert titles[2].pk in counts  # its play, not its thumb
    assert sum(counts.values()) == 9  # 6 + replay + search play + the other member's


def test_play_list_reads_plays_titles_and_genres_in_two_queries(facts, django_assert_num_queries):
    member, _, _ = facts
    with django_assert_num_queries(2):
        plays = play_list(member_id=member.pk, limit=100)
        genres = [[g.name for g in p.title.genres.all()] for p in plays]
    assert len(plays) == 9 and all(sorted(g) == ["Comedy", "Drama"] for g in genres)
    assert {p.type for p in plays} == set(PLAY_TYPES)


def test_plays_as_of_streams_plays_up_to_the_time_oldest_first(facts, django_assert_num_queries):
    member, other, titles = facts
    with django_assert_num_queries(1):
        plays = list(plays_as_of(at=NOW))
    assert len(plays) == 9
    assert [p.occurred_at for p in plays] == sorted(p.occurred_at for p in plays)
    assert all(p.occurred_at <= NOW for p in plays)
    assert plays[-1].title_id == titles[1].pk and plays[-1].runtime_minutes == 100


def test_kept_trending_counts_answer_what_counting_afresh_answers(facts, django_assert_num_queries):
    """Kept per minute, then corrected: plays stored after the counts were taken, plays at
    either edge of the window, times within the same minute and in another minute."""
    member, other, titles = facts
    at = NOW.replace(second=40)
    log(other, titles[2], minutes_ago=24 * 60 - 0.3)  # in the minute's window, not in at's
    assert trending_counts(at=at, days=1) == title_play_counts(at=at, days=1)
    with django_assert_num_queries(1):  # warm: only the correction is read
        trending_counts(at=at.replace(second=50), days=1)
    log(other, titles[5], minutes_ago=0.1)  # after the watermark, in the window
    log(other, titles[0], minutes_ago=24 * 60 - 0.2)  # near the window's far edge
    log(other, titles[1], minutes_ago=24 * 60 + 0.5)  # outside the window
    for moment in (at, at.replace(second=5), at.replace(second=59), NOW + timedelta(minutes=3)):
        for days in (1, 0.01):
            assert trending_counts(at=moment, days=days) == title_play_counts(
                at=moment, days=days
            ), (moment, days)
