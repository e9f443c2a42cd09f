"""Plans refreshed ahead of their end: a page served from a plan within
HOMEPAGE_PLAN_REFRESH_SECONDS of HOMEPAGE_PLAN_SECONDS has the plan computed again on the
process's refresher thread, so the member's next page comes from the new plan instead of
waiting for its own computation. The refresher has its own database connection, so these
tests commit (transaction=True)."""

import logging
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from homepage import plans, services
from homepage.services import homepage_build
from tests.platform.homepage.test_plans import world as world_fixture

world = world_fixture  # the same 60 titles, 4 of them played

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _refresh_on(settings):
    settings.HOMEPAGE_PLAN_SECONDS = 60
    settings.HOMEPAGE_PLAN_REFRESH_SECONDS = 15
    plans.plans_forget()
    yield
    plans.plan_refreshes_wait()
    plans.plans_forget()


def test_a_page_from_a_plan_near_its_end_has_it_computed_again_off_the_request(member, world):
    now = timezone.now()
    old = homepage_build(member=member, at=now - timedelta(seconds=50), reuse=True)
    assert old.planned_at is None  # computed: the plan is 50 s old at `now`
    page = homepage_build(member=member, at=now, reuse=True)
    assert page.planned_at == now - timedelta(seconds=50)  # served from the old plan ...
    plans.plan_refreshes_wait()
    after = homepage_build(member=member, at=timezone.now(), reuse=True)
    assert after.planned_at is not None and after.planned_at >= now  # ... the next, the new
    assert [[s.title.pk for s in r.slots] for r in after.rows] == [
        [s.title.pk for s in r.slots] for r in page.rows
    ]  # nothing the page reads changed: the same page


def refreshes_asked(member, monkeypatch, *, age: float) -> list[dict]:
    """The refreshes asked for when a page is served from the member's plan `age` s old."""
    calls = []
    monkeypatch.setattr(services, "plan_refresh", lambda **kw: calls.append(kw))
    now = timezone.now()
    homepage_build(member=member, at=now - timedelta(seconds=age), reuse=True)
    assert homepage_build(member=member, at=now, reuse=True).planned_at
    plans.plan_refreshes_wait()
    return calls


def test_a_younger_plan_is_not_refreshed(member, world, monkeypatch):
    assert refreshes_asked(member, monkeypatch, age=29) == []  # due from 30-45 s on


def first_due(plan, *, within: int) -> int:
    """The first whole second of its age at which a page served from `plan` refreshes it."""
    return next(
        age
        for age in range(within + 1)
        if plans.plan_refresh_due(plan, at=plan.at + timedelta(seconds=age))
    )


def test_plans_made_together_come_due_over_the_refresh_window_not_at_once(settings):
    """The warming after a promotion makes every plan at once: each comes due at a point of
    its own in the 15 s before the usual 45 s, so their refreshes do not all queue together."""
    now = timezone.now()
    made = [plans.Plan(at=now, ranking=None, finished=None) for _ in range(400)]
    due = Counter(first_due(plan, within=60) for plan in made)
    assert min(due) >= 30 and max(due) <= 45
    assert len(due) >= 14 and max(due.values()) < 0.15 * len(made)  # about 1/16 a second
    settings.HOMEPAGE_PLAN_SECONDS = 20  # a window longer than half the plan's life
    short = Counter(first_due(plan, within=20) for plan in made)
    assert min(short) >= 3 and max(short) <= 5  # from half of the latest point (5 s) on


def test_a_plan_is_refreshed_once_however_many_pages_ask(member, world, monkeypatch):
    calls, real = [], services.plan_refresh

    def counted(**kw):
        calls.append(kw)
        return real(**kw)

    monkeypatch.setattr(services, "plan_refresh", counted)
    now = timezone.now()
    homepage_build(member=member, at=now - timedelta(seconds=50), reuse=True)
    for _ in range(5):
        homepage_build(member=member, at=timezone.now(), reuse=True)
    plans.plan_refreshes_wait()
    assert calls == [{"member_id": member.pk, "device": ""}]


def test_a_refresh_that_fails_leaves_pages_served_from_the_old_plan(
    member, world, monkeypatch, caplog
):
    def broken(**kw):
        raise RuntimeError("the model is being replaced")

    now = timezone.now()
    homepage_build(member=member, at=now - timedelta(seconds=50), reuse=True)
    monkeypatch.setattr(services, "_plan", broken)
    with caplog.at_level(logging.ERROR, logger="homepage.plans"):
        homepage_build(member=member, at=now, reuse=True)
        plans.plan_refreshes_wait()
    assert f"Refreshing the plan of member {member.pk}" in caplog.text
    assert "the model is being replaced" in caplog.text
    again = homepage_build(member=member, at=now + timedelta(seconds=1), reuse=True)
    assert again.planned_at == now - timedelta(seconds=50)


def test_refresh_off_keeps_plans_until_their_end(settings, member, world, monkeypatch):
    settings.HOMEPAGE_PLAN_REFRESH_SECONDS = 0
    assert refreshes_asked(member, monkeypatch, age=59) == []


@pytest.mark.services
def test_with_a_shared_store_one_process_refreshes_a_plan(
    settings, real_services, member, world, monkeypatch
):
    """Both processes serve the member from the shared plan as it nears its end; the first
    to ask marks the refresh in the store and the other leaves it to that one."""
    from tests.platform.homepage.test_shared_plans import store

    store(settings, real_services[1])
    calls = []
    monkeypatch.setattr(services, "plan_refresh", lambda **kw: calls.append(kw))
    now = timezone.now()
    homepage_build(member=member, at=now - timedelta(seconds=50), reuse=True)
    assert homepage_build(member=member, at=now, reuse=True).planned_at  # process A asks
    plans.plan_refreshes_wait()
    plans.plans_forget()  # process B: the shared plan only, and its own refresher
    assert homepage_build(member=member, at=now, reuse=True).planned_at  # ... B does not
    plans.plan_refreshes_wait()
    assert calls == [{"member_id": member.pk, "device": ""}]
