"""Plans: a page at the present served from what its member's last page computed, while
nothing that page was computed from has changed, and logged as a page of its own."""

import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Title
from events.models import Impression, Interaction, PageView
from exploration.services import explorer_config_set
from homepage import plans
from homepage.services import homepage_build
from members.services import my_list_add, my_list_remove
from tests.factories import MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db

SLOT_FIELDS = (
    "row_key",
    "row_index",
    "position",
    "title_id",
    "policy",
    "propensity",
    "explored",
    "features",
    "bandit_inputs",
    "artwork",
    "artwork_propensity",
    "artwork_policy",
)


@pytest.fixture(autouse=True)
def _plans_on(settings):
    settings.HOMEPAGE_PLAN_SECONDS = 60
    plans.plans_forget()
    yield
    plans.plans_forget()


@pytest.fixture
def world(member):
    titles = TitleFactory.create_batch(40, genres=["Drama"]) + TitleFactory.create_batch(
        20, genres=["Comedy"]
    )
    for i, title in enumerate(titles[:4]):
        play(member, title, minutes=30 + i, watched=60 * (i + 1))
    return titles


def play(member, title, *, minutes: float = 1, watched: int = 600, kind: str = "play"):
    Interaction.objects.create(
        event_id=uuid.uuid4(),
        type=kind,
        member=member,
        title=title,
        watched_seconds=watched if kind == "play" else None,
        occurred_at=timezone.now() - timedelta(minutes=minutes),
    )


def logged(page_id) -> list[tuple]:
    rows = Impression.objects.filter(page_id=page_id).order_by("row_index", "position")
    return list(rows.values_list(*SLOT_FIELDS))


def test_a_page_at_the_present_is_served_from_the_plan_and_logged_as_its_own(api, member, world):
    api.get(f"/api/v1/members/{member.pk}/homepage")  # the catalogue snapshot, the model
    plans.plans_forget()
    with CaptureQueriesContext(connection) as fresh_queries:
        first = api.get(f"/api/v1/members/{member.pk}/homepage").json()
    with CaptureQueriesContext(connection) as plan_queries:
        second = api.get(f"/api/v1/members/{member.pk}/homepage").json()

    assert first["planned_at"] is None
    assert second["planned_at"] == first["served_at"] != second["served_at"]
    assert second["page_id"] != first["page_id"]
    assert second["rows"] == first["rows"]  # the same page ...
    # ... logged again under its own id and time, with the plan's features
    pages = {p.page_id: p for p in PageView.objects.filter(member=member)}
    again = pages[uuid.UUID(second["page_id"])]
    assert again.planned_at is not None
    assert again.planned_at == pages[uuid.UUID(first["page_id"])].served_at
    assert logged(second["page_id"]) == logged(first["page_id"])
    assert len(logged(second["page_id"])) == sum(len(r["items"]) for r in second["rows"]) >= 40
    times = set(Impression.objects.filter(page_id=second["page_id"]).values_list("served_at"))
    assert times == {(again.served_at,)}
    # No read of the member's history, thumbs or list, of trending or of the catalogue.
    read = " ".join(q["sql"] for q in plan_queries if q["sql"].startswith("SELECT"))
    assert len(plan_queries) < len(fresh_queries) - 3, (len(plan_queries), len(fresh_queries))
    assert '"occurred_at"' not in read and '"added_at"' not in read


def test_a_page_at_a_time_the_client_gives_is_always_computed(api, member, world):
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    pages = [api.get(f"/api/v1/members/{member.pk}/homepage", {"at": at}).json() for _ in "ab"]
    assert [p["planned_at"] for p in pages] == [None, None]
    assert plans.plans_kept() == 0


def test_a_plan_serves_for_its_seconds_only(settings, member, world):
    now = timezone.now()
    homepage_build(member=member, at=now, reuse=True)
    assert homepage_build(member=member, at=now + timedelta(seconds=59), reuse=True).planned_at
    assert (
        homepage_build(member=member, at=now + timedelta(seconds=61), reuse=True).planned_at is None
    )
    later = now + timedelta(seconds=61)
    assert (
        homepage_build(member=member, at=later + timedelta(seconds=1), reuse=True).planned_at
        == later
    )
    settings.HOMEPAGE_PLAN_SECONDS = 0  # off: every page computes its own
    assert (
        homepage_build(member=member, at=later + timedelta(seconds=2), reuse=True).planned_at
        is None
    )


def _play(member, titles):
    play(member, titles[10])


def _thumb_down(member, titles):
    play(member, titles[11], kind="thumb_down")


def _thumb_up(member, titles):
    play(member, titles[12], kind="thumb_up")


def _list_add(member, titles):
    my_list_add(member=member, title_id=titles[13].pk)


def _list_remove(member, titles):
    my_list_remove(member=member, title_id=titles[14].pk)


def _new_title(member, titles):
    TitleFactory(genres=["Drama"], added_at=timezone.now() - timedelta(days=1))


def _title_edited(member, titles):
    Title.objects.filter(pk=titles[20].pk).update(name="Renamed", updated_at=timezone.now())


def _explorer_on(member, titles):
    explorer_config_set(use="slots", enabled=True, policy="epsilon_greedy", rate=0.2)


def _kids(member, titles):
    member.is_kids = True
    member.save()


CHANGES = [
    _play,
    _thumb_down,
    _thumb_up,
    _list_add,
    _list_remove,
    _new_title,
    _title_edited,
    _explorer_on,
    _kids,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.__name__.strip("_"))
def test_what_the_page_was_computed_from_changing_computes_the_next_page(member, world, change):
    my_list_add(member=member, title_id=world[14].pk)
    now = timezone.now()
    homepage_build(member=member, at=now, reuse=True)
    assert homepage_build(member=member, at=now + timedelta(seconds=1), reuse=True).planned_at
    change(member, world)
    member.refresh_from_db()
    after = now + timedelta(seconds=2)
    page = homepage_build(member=member, at=after, reuse=True, rng=np.random.default_rng(5))
    assert page.planned_at is None
    fresh = homepage_build(member=member, at=after, rng=np.random.default_rng(5))  # no plans
    assert [[s.title.pk for s in r.slots] for r in page.rows] == [
        [s.title.pk for s in r.slots] for r in fresh.rows
    ]


def test_each_device_has_its_own_plan(member, world):
    now = timezone.now()
    homepage_build(member=member, at=now, device="tv", reuse=True)
    assert homepage_build(member=member, at=now, device="phone", reuse=True).planned_at is None
    assert (
        homepage_build(member=member, at=now, device="tv", reuse=True).planned_at is None
    )  # same time
    later = now + timedelta(seconds=1)
    assert homepage_build(member=member, at=later, device="tv", reuse=True).planned_at == now
    assert homepage_build(member=member, at=later, device="phone", reuse=True).planned_at == now


def test_with_an_explorer_each_page_draws_its_own_from_the_plan(member, world):
    """An open plan: the row order, explored slots and artwork are drawn for every page,
    from its own generator, over the plan's candidate rows; the same draws give the page
    computed at the plan's time, slot for slot and record for record."""
    for use, policy in (
        ("slots", "epsilon_greedy"),
        ("artwork", "linucb"),
        ("row_order", "softmax"),
    ):
        explorer_config_set(use=use, enabled=True, policy=policy, rate=0.5)
    now = timezone.now()
    homepage_build(member=member, at=now, reuse=True, rng=np.random.default_rng(0))
    served = [
        homepage_build(
            member=member, at=now + timedelta(seconds=s), reuse=True, rng=np.random.default_rng(s)
        )
        for s in (1, 2, 3)
    ]
    assert all(p.planned_at == now for p in served)
    for seed, page in zip((1, 2, 3), served, strict=True):
        computed = homepage_build(member=member, at=now, rng=np.random.default_rng(seed))
        assert page.page.exploration == computed.page.exploration
        assert page.page.row_order_probability == computed.page.row_order_probability
        assert logged(page.page.page_id) == logged(computed.page.page_id)
    records = [p.page.exploration for p in served]
    assert records[0] != records[1] or records[1] != records[2]  # three draws, not one
    assert any(slot.explored for p in served for r in p.rows for slot in r.slots)


def test_at_most_the_plans_kept_and_one_per_member(settings, world):
    settings.HOMEPAGE_PLANS_KEPT = 2
    members = MemberFactory.create_batch(3)
    now = timezone.now()
    for m in members:
        homepage_build(member=m, at=now, reuse=True)
    assert plans.plans_kept() == 2
    play(members[2], world[30])  # its plan is replaced, not added to
    homepage_build(member=members[2], at=now + timedelta(seconds=1), reuse=True)
    assert plans.plans_kept() == 2
    assert homepage_build(member=members[1], at=now + seconds(2), reuse=True).planned_at == now
    assert homepage_build(member=members[0], at=now + seconds(3), reuse=True).planned_at is None


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def test_with_an_explorer_each_served_page_shows_what_it_logged(api, member, world):
    """The API keeps a plan's rows JSON only for finished plans: an explored page shows its
    own draws, as its impressions log them."""
    explorer_config_set(use="slots", enabled=True, policy="epsilon_greedy", rate=0.9)
    explorer_config_set(use="artwork", enabled=True, policy="linucb", rate=0.9)
    pages = [api.get(f"/api/v1/members/{member.pk}/homepage").json() for _ in range(4)]
    assert all(p["planned_at"] is not None for p in pages[1:])
    for page in pages:
        shown = [
            (r["key"], i["position"], i["title"]["id"], i["propensity"], i["artwork"])
            for r in page["rows"]
            for i in r["items"]
        ]
        rows = Impression.objects.filter(page_id=page["page_id"])
        assert shown == list(
            rows.order_by("row_index", "position").values_list(
                "row_key", "position", "title_id", "propensity", "artwork"
            )
        )
    assert len({str(p["rows"]) for p in pages}) > 1  # each drew its own
