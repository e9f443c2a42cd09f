"""Plans shared between web processes through Redis (HOMEPAGE_PLAN_CACHE_URL): a finished
plan one process computed serves the pages of another, under the same full key; an open
plan stays in its process; and a store that cannot be reached only costs the pages their
plans, never an error."""

import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.utils import timezone

from catalog.selectors import catalog_titles
from exploration.services import explorer_config_set
from homepage import plans
from homepage.services import homepage_build
from tests.factories import MemberFactory
from tests.platform.homepage.test_plans import _plans_on, logged, play  # noqa: F401 (autouse)
from tests.platform.homepage.test_plans import world as world_fixture

world = world_fixture  # the same 60 titles, 4 of them played

pytestmark = pytest.mark.django_db


def store(settings, location: str) -> None:
    """Point the shared plan store at `location`, under keys of this test's own."""
    settings.CACHES = {
        **settings.CACHES,
        "plans": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": f"test-plans-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        },
    }
    settings.HOMEPAGE_PLAN_CACHE = "plans"


@pytest.fixture
def shared(settings, real_services):
    store(settings, real_services[1])
    return caches["plans"]


def another_process() -> None:
    """What a second web process holds: none of this one's plans."""
    plans.plans_forget()
    assert plans.plans_kept() == 0


def titles_shown(page) -> list[list[int]]:
    return [[slot.title.pk for slot in row.slots] for row in page.rows]


@pytest.mark.services
def test_a_finished_plan_serves_another_processs_pages(shared, member, world):
    now = timezone.now()
    first = homepage_build(member=member, at=now, reuse=True)
    assert first.planned_at is None
    another_process()
    second = homepage_build(member=member, at=now + timedelta(seconds=5), reuse=True)
    assert second.planned_at == now  # not computed again
    assert titles_shown(second) == titles_shown(first)
    # its titles are this process's catalogue snapshot's own objects, stored as ids
    snapshot = catalog_titles()
    assert all(s.title is snapshot[s.title.pk] for row in second.rows for s in row.slots)
    assert second.page.page_id != first.page.page_id
    assert logged(second.page.page_id) == logged(first.page.page_id)
    assert second.page.model_version_id == first.page.model_version_id
    assert plans.plans_kept() == 1  # and kept here from then on


@pytest.mark.services
def test_a_shared_plan_whose_key_changed_is_not_served(shared, member, world):
    now = timezone.now()
    homepage_build(member=member, at=now, reuse=True)
    another_process()
    play(member, world[30])  # the member did something since: their key changed
    page = homepage_build(member=member, at=now + timedelta(seconds=5), reuse=True)
    assert page.planned_at is None
    another_process()
    later = homepage_build(member=member, at=now + timedelta(seconds=6), reuse=True)
    assert later.planned_at == now + timedelta(seconds=5)  # the new plan replaced the old


@pytest.mark.services
def test_a_shared_plan_serves_for_its_seconds_only(shared, member, world):
    now = timezone.now()
    homepage_build(member=member, at=now, reuse=True)
    another_process()
    assert (
        homepage_build(member=member, at=now + timedelta(seconds=61), reuse=True).planned_at is None
    )


@pytest.mark.services
def test_an_open_plan_stays_in_its_process(shared, member, world, caplog):
    """It holds the page context, and closures of the row builders: it is neither tried
    in the store (which would fail, and turn the store off for a while) nor found there."""
    explorer_config_set(use="slots", enabled=True, policy="epsilon_greedy", rate=0.5)
    now = timezone.now()
    homepage_build(member=member, at=now, reuse=True)
    assert homepage_build(member=member, at=now + timedelta(seconds=1), reuse=True).planned_at
    assert shared.get(plans._shared_name((member.pk, ""))) is None and caplog.text == ""
    another_process()
    assert (
        homepage_build(member=member, at=now + timedelta(seconds=2), reuse=True).planned_at is None
    )


def test_a_store_that_cannot_be_reached_costs_the_plans_only(settings, member, world, caplog):
    store(settings, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    now = timezone.now()
    page = homepage_build(member=member, at=now, reuse=True)  # computed, no error
    assert page.planned_at is None and logged(page.page.page_id)
    assert "shared plan store failed to read a plan (ConnectionError" in caplog.text
    # This process still serves its own plan, and does not ask the store again for a while.
    caplog.clear()
    calls = []
    real_get = caches["plans"].get
    caches["plans"].get = lambda *a, **k: calls.append(a) or real_get(*a, **k)
    assert homepage_build(member=member, at=now + timedelta(seconds=1), reuse=True).planned_at
    homepage_build(member=MemberFactory(), at=now + timedelta(seconds=2), reuse=True)
    assert calls == [] and caplog.text == ""
    assert plans._shared_down_until - time.monotonic() > plans.SHARED_RETRY_SECONDS - 2


@pytest.mark.services
def test_a_shared_plan_that_cannot_be_read_back_costs_that_page_only(shared, member, world, caplog):
    """A plan naming a title this process's catalogue snapshot lacks: the page is computed,
    and the store, which answered, stays in use for the next plans."""
    now = timezone.now()
    first = homepage_build(member=member, at=now, reuse=True)
    name = plans._shared_name((member.pk, ""))
    data = shared.get(name)[1]
    snapshot = catalog_titles()
    missing = first.rows[0].slots[0].title.pk
    saved = snapshot.pop(missing)  # as if this process's snapshot lacked a title on the page
    try:
        another_process()
        page = homepage_build(member=member, at=now + timedelta(seconds=1), reuse=True)
    finally:
        snapshot[missing] = saved
    assert page.planned_at is None
    assert "could not be read back (KeyError" in caplog.text
    assert plans._shared_down_until == 0.0  # not taken for an outage
    assert shared.get(name)[1] != data  # the page's new plan was kept there
