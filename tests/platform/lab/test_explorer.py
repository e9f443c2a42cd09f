"""The lab's explorer panel, on a small fact log whose answers are known by hand."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Interaction
from events.services import page_record
from exploration.models import BanditState, ExplorerConfig, UpdateRun
from lab.explorer import explorer_panel
from tests.factories import AccountFactory, MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db

END = datetime(2026, 11, 20, 12, 0, 30, tzinfo=UTC)
AT = END - timedelta(seconds=20)


def slot(position, title, *, propensity=1.0, explored=False, artwork=0, artwork_policy=""):
    return {
        "row_key": "top_picks",
        "row_index": 0,
        "position": position,
        "title_id": title.pk,
        "policy": "softmax@v1" if explored else "model",
        "propensity": propensity,
        "features": {},
        "explored": explored,
        "artwork": artwork,
        "artwork_propensity": 0.5 if artwork_policy else 1.0,
        "artwork_policy": artwork_policy,
    }


def play(member, title, page, position, *, type="play", at=AT + timedelta(seconds=5)):
    Interaction.objects.create(
        event_id=uuid.uuid4(), type=type, member=member, title=title, page=page,
        row_key="top_picks" if page else "", position=position, watched_seconds=600,
        occurred_at=at,
    )  # fmt: skip


@pytest.fixture
def log():
    """Two pages in the minute before END.

    Ann's: t0 deterministic; t1 explored (p 0.2); t2 explored (p 0.4); every variant drawn by
    the artwork explorer (1, 0, 1); its row order chosen by a policy with probability 0.5.
    Ben's: t0, t3 deterministic; t4 explored (p 0.6); the titles' own artwork (not drawn);
    the builders' row order. Ann plays position 1; Ben positions 2 and 1; Ben's search play
    names no page and counts nowhere."""
    t = TitleFactory.create_batch(5, added_at=END - timedelta(days=30))
    ann, ben = MemberFactory(name="Ann"), MemberFactory(name="Ben")
    drawn = "softmax@v1"
    a = page_record(
        member=ann, served_at=AT, model_version_id=None, fallback=True, fallback_reason="",
        slots=[
            slot(0, t[0], artwork=1, artwork_policy=drawn),
            slot(1, t[1], propensity=0.2, explored=True, artwork=0, artwork_policy=drawn),
            slot(2, t[2], propensity=0.4, explored=True, artwork=1, artwork_policy=drawn),
        ],
        row_order_policy="softmax@v1", row_order_probability=0.5,
    )  # fmt: skip
    b = page_record(
        member=ben, served_at=AT + timedelta(seconds=1), model_version_id=None, fallback=True,
        fallback_reason="",
        slots=[slot(0, t[0]), slot(1, t[3]), slot(2, t[4], propensity=0.6, explored=True)],
    )  # fmt: skip
    play(ann, t[1], a, 1)
    play(ben, t[4], b, 2)
    play(ben, t[3], b, 1)
    play(ben, t[2], None, None, type="search_play")
    return t


def test_slots_explored_share_propensity_and_click_through(log):
    now = explorer_panel(end=END, window="1h").slots[-1]
    assert now.start == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert (now.impressions, now.explored) == (6, 3)
    assert now.explored_share == pytest.approx(3 / 6)
    # mean over the explored slots only (over every slot it would be 0.7)
    assert now.explored_mean_propensity == pytest.approx((0.2 + 0.4 + 0.6) / 3)
    assert (now.explored_plays, now.deterministic_plays) == (2, 1)
    assert now.explored_ctr == pytest.approx(2 / 3)  # Ann's t1, Ben's t4 of 3 explored
    assert now.deterministic_ctr == pytest.approx(1 / 3)  # Ben's t3 of 3 deterministic


def test_artwork_shares_and_play_rates_count_drawn_variants_only(log):
    now = explorer_panel(end=END, window="1h").artwork[-1]
    assert now.impressions == 3  # Ann's page; Ben's variants were not drawn
    assert [(v.variant, v.shown, v.plays) for v in now.variants] == [(0, 1, 1), (1, 2, 0)]
    assert [v.share for v in now.variants] == pytest.approx([1 / 3, 2 / 3])
    assert [v.play_rate for v in now.variants] == pytest.approx([1.0, 0.0])


def test_row_order_share_and_probability(log):
    now = explorer_panel(end=END, window="1h").row_order[-1]
    assert (now.pages, now.explored_pages) == (2, 1)
    assert now.explored_share == pytest.approx(0.5)
    assert now.mean_probability == pytest.approx(0.5)


def test_empty_buckets_keep_the_axis_with_none_ratios(log):
    panel = explorer_panel(end=END, window="1h")
    assert len(panel.slots) == len(panel.row_order) == len(panel.artwork) == 61
    quiet = panel.slots[0]
    assert (quiet.impressions, quiet.explored_share, quiet.explored_ctr) == (0, None, None)
    assert panel.artwork[0].variants[0].share is None


def test_uses_config_newest_state_and_runs(log):
    ExplorerConfig.objects.create(use="slots", enabled=True, policy="softmax", rate=0.3)
    first = UpdateRun.objects.create(status="succeeded", counts={"slots": {"counted": 2}})
    failed = UpdateRun.objects.create(status="failed", error="boom", counts={})
    for version, run in ((1, first), (2, first)):
        BanditState.objects.create(
            use="slots", version=version, policy="softmax", config={}, state=b"", run=run
        )
    uses = {u.config.use: u for u in explorer_panel(end=END, window="1h").uses}
    assert list(uses) == ["slots", "row_order", "artwork"]
    slots = uses["slots"]
    assert (slots.config.policy, slots.config.rate, slots.state.version) == ("softmax", 0.3, 2)
    assert [(r.run.pk, r.run.status, r.counts) for r in slots.runs] == [
        (failed.pk, "failed", {}),
        (first.pk, "succeeded", {"counted": 2}),
    ]
    assert uses["artwork"].state is None and uses["artwork"].config.enabled is False


def test_a_fixed_number_of_queries(log):
    with CaptureQueriesContext(connection) as few:
        explorer_panel(end=END, window="1h")
    play(MemberFactory(), log[0], None, None, type="search_play")
    TitleFactory.create_batch(3)
    with CaptureQueriesContext(connection) as more:
        explorer_panel(end=END, window="30d")
    assert len(more) == len(few)


def test_the_api_serves_the_panel_to_staff_only(log, client_for, api):
    staff = client_for(AccountFactory(username="boss", is_staff=True))
    body = staff.get("/api/v1/lab/explorer", {"window": "1h"}).json()
    assert body["bucket"] == "minute" and [u["use"] for u in body["uses"]] == [
        "slots", "row_order", "artwork",
    ]  # fmt: skip
    assert staff.get("/api/v1/lab/explorer", {"window": "2y"}).status_code == 400
    assert api.get("/api/v1/lab/explorer").status_code == 403
