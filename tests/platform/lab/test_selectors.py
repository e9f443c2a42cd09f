"""The lab's numbers, on a small fact log whose answers are known by hand."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Interaction
from events.services import page_record
from lab.selectors import click_through, loop_health, model_timeline, visits_per_member_day
from modeling.models import ModelVersion
from modeling.services import promotion_decide
from tests.factories import MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db

END = datetime(2026, 11, 20, 12, 0, 30, tzinfo=UTC)


def serve(member, titles, at, *, propensity=1.0, row="top_picks"):
    return page_record(
        member=member,
        served_at=at,
        model_version_id=None,
        fallback=True,
        fallback_reason="",
        slots=[
            {
                "row_key": row,
                "row_index": 0,
                "position": p,
                "title_id": t.pk,
                "policy": "p",
                "propensity": propensity,
                "features": {},
            }
            for p, t in enumerate(titles)
        ],
    )


def play(member, title, page, position, at, seconds=600, row="top_picks"):
    Interaction.objects.create(
        event_id=uuid.uuid4(), type="play", member=member, title=title, page=page,
        row_key=row, position=position, watched_seconds=seconds, occurred_at=at,
    )  # fmt: skip


@pytest.fixture
def log():
    """Five titles on offer (t4 never shown); in the minute before END two members see pages of two titles:
    Ann {t0, t3} then {t0, t1}, Ben {t1, t2}; Ann plays position 0 of her first page, Ben
    position 1 of his."""
    t = TitleFactory.create_batch(5, added_at=END - timedelta(days=30))
    ann, ben = MemberFactory(name="Ann"), MemberFactory(name="Ben")
    at = END - timedelta(seconds=20)
    first = serve(ann, [t[0], t[3]], at)
    serve(ann, [t[0], t[1]], at + timedelta(seconds=1))
    second = serve(ben, [t[1], t[2]], at + timedelta(seconds=2), propensity=0.5)
    play(ann, t[0], first, 0, at + timedelta(seconds=5), seconds=1200)
    play(ben, t[2], second, 1, at + timedelta(seconds=6), seconds=600)
    return t, ann, ben


def test_loop_health_measures_the_last_minute(log):
    points = loop_health(end=END, window="1h")
    assert len(points) == 61 and points[0].start == datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    now = points[-1]
    assert now.start == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert (now.pages, now.members, now.impressions) == (3, 2, 6)
    assert now.coverage == pytest.approx(4 / 5)  # t0..t3 shown of five on offer
    # impressions per title: t0 2, t1 2, t2 1, t3 1, t4 0 -> sorted 0,1,1,2,2 over n=5, sum 6
    assert now.exposure_gini == pytest.approx((-4 * 0 - 2 * 1 + 0 * 1 + 2 * 2 + 4 * 2) / (5 * 6))
    # Each member's latest page: Ann {t0,t1} vs Ben {t1,t2}
    assert now.homogenization == pytest.approx(1 / 3)
    assert now.exploration_rate == pytest.approx(2 / 6)
    assert now.plays_per_visit == pytest.approx(2 / 3)
    assert now.minutes_per_member == pytest.approx((20 + 10) / 2)
    quiet = points[-2]
    assert (quiet.pages, quiet.coverage, quiet.plays_per_visit) == (0, None, None)


def test_click_through_by_position_and_row(log):
    clicks = click_through(end=END, window="1h")
    by_position = {c.key: (c.impressions, c.plays, c.ctr) for c in clicks.by_position}
    assert by_position == {0: (3, 1, pytest.approx(1 / 3)), 1: (3, 1, pytest.approx(1 / 3))}
    assert [(c.key, c.impressions, c.plays) for c in clicks.by_row] == [("top_picks", 6, 2)]
    assert click_through(end=END - timedelta(hours=2), window="1h").by_position == []


def test_the_lab_costs_the_same_queries_whatever_the_log_holds(log):
    t, ann, ben = log

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            loop_health(end=END, window="24h")
            click_through(end=END, window="24h")
        return len(captured)

    before = queries()
    for i in range(30):
        member = MemberFactory()
        page = serve(member, t, END - timedelta(hours=i % 20, seconds=40))
        play(member, t[i % 4], page, i % 4, END - timedelta(hours=i % 20, seconds=30))
    assert queries() == before <= 8


def test_model_timeline_has_serving_periods_from_the_gate():
    def version(kind):
        return ModelVersion.objects.create(
            kind=kind, checkpoint="x", trained_as_of=END, n_train_events=1,
            metrics={"ndcg@10": 0.1, "ope": {"ips": {"value": 0.2, "low": 0.1, "high": 0.3}}},
        )  # fmt: skip

    first, loser, second = version("popularity"), version("mf"), version("ease")
    promotion_decide(candidate=first, candidate_value=0.1, baseline=None, baseline_value=None)
    promotion_decide(candidate=loser, candidate_value=0.05, baseline=first, baseline_value=0.1)
    promotion_decide(candidate=second, candidate_value=0.2, baseline=first, baseline_value=0.1)
    timeline = model_timeline()
    assert timeline.production == second.pk
    points = {p.version.pk: p for p in timeline.versions}
    assert points[first.pk].served_until == points[second.pk].served_from is not None
    assert points[loser.pk].served_from is None and not points[loser.pk].decision.promoted
    assert points[second.pk].is_production and points[second.pk].served_until is None
    assert points[first.pk].ope == {"ips": {"value": 0.2, "low": 0.1, "high": 0.3}}
    assert timeline.experiments["available"] is True
    assert timeline.experiments["experiments"] == []  # none yet
    assert "every member is served by production" in timeline.experiments["note"]


def test_visits_per_member_day_follows_the_time_of_day(log):
    t, ann, ben = log  # 3 pages by 2 members at 12:00, within the last day
    # Near noon: 3 pages / (2 members * 1 day * 3/24 of it).
    assert visits_per_member_day(at=END, days=1) == pytest.approx(3 / (2 * 3 / 24))
    # At 20:00 the same day nobody came by: a twentieth of the daily mean of 1.5.
    evening = END + timedelta(hours=8)
    assert visits_per_member_day(at=evening, days=1) == pytest.approx(1.5 / 20)
    assert visits_per_member_day(at=END - timedelta(days=3), days=1) is None
