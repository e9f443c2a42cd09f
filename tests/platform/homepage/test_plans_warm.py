"""Plans warmed ahead: after a promotion every plan's key has changed, and a worker computes
the plans of the members served recently (each device they used) before their next pages
ask, so those pages are served from a plan instead of all being computed at once."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from catalog.models import Title
from exploration.services import explorer_config_set
from homepage import plans, services, tasks
from homepage.services import homepage_build, plans_warm
from tests.factories import MemberFactory
from tests.platform.homepage.test_plans import _plans_on, logged  # noqa: F401 (autouse)
from tests.platform.homepage.test_plans import world as world_fixture
from tests.platform.homepage.test_shared_plans import another_process, store, titles_shown

world = world_fixture  # the same 60 titles, 4 of them played

pytestmark = pytest.mark.django_db


def served(member, *, ago: float, device: str = "") -> None:
    """A page the member was served `ago` seconds ago, computed and logged, no plan kept."""
    homepage_build(member=member, at=timezone.now() - timedelta(seconds=ago), device=device)


def since(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_the_members_served_recently_have_their_next_page_from_a_warmed_plan(member, world):
    served(member, ago=100)
    assert plans.plans_kept() == 0
    warmed = plans_warm(since=since(600))
    assert (warmed.computed, warmed.current, warmed.open) == (1, 0, 0)
    page = homepage_build(member=member, at=timezone.now(), reuse=True)
    assert page.planned_at is not None  # not computed for the request
    computed = homepage_build(member=member, at=timezone.now())  # no plans
    assert titles_shown(page) == titles_shown(computed)
    assert [f[:4] for f in logged(page.page.page_id)] == [
        f[:4] for f in logged(computed.page.page_id)
    ]


def test_each_device_a_member_used_is_warmed_and_only_members_served_since(world):
    recent, old = MemberFactory.create_batch(2)
    served(recent, ago=30, device="tv")
    served(recent, ago=20, device="phone")
    served(old, ago=3600)
    assert plans_warm(since=since(600)).computed == 2
    now = timezone.now()
    for device in ("tv", "phone"):
        assert homepage_build(member=recent, at=now, device=device, reuse=True).planned_at
    assert homepage_build(member=recent, at=now, device="web", reuse=True).planned_at is None
    assert homepage_build(member=old, at=now, reuse=True).planned_at is None


def test_the_most_recent_first_up_to_the_limit(world):
    earlier, later = MemberFactory.create_batch(2)
    served(earlier, ago=50)
    served(later, ago=10)
    assert plans_warm(since=since(600), limit=1).computed == 1
    now = timezone.now()
    assert homepage_build(member=later, at=now, reuse=True).planned_at
    assert homepage_build(member=earlier, at=now, reuse=True).planned_at is None


def test_a_plan_kept_already_is_not_computed_again(member, world, monkeypatch):
    served(member, ago=100)
    assert plans_warm(since=since(600)).computed == 1
    computed = []
    real = services._plan
    monkeypatch.setattr(services, "_plan", lambda **kw: computed.append(kw) or real(**kw))
    again = plans_warm(since=since(600))
    assert (again.computed, again.current) == (0, 1) and computed == []


def test_a_plan_near_its_end_is_computed_again(settings, member, world):
    settings.HOMEPAGE_PLAN_REFRESH_SECONDS = 15
    homepage_build(member=member, at=timezone.now() - timedelta(seconds=50), reuse=True)
    assert plans.plans_kept() == 1  # 50 s old: within the refresh's 15 s of its 60
    assert plans_warm(since=since(600)).computed == 1
    page = homepage_build(member=member, at=timezone.now(), reuse=True)
    assert (timezone.now() - page.planned_at).total_seconds() < 5


def test_with_an_explorer_on_there_is_no_plan_to_warm(member, world):
    explorer_config_set(use="slots", enabled=True, policy="epsilon_greedy", rate=0.5)
    served(member, ago=100)
    warmed = plans_warm(since=since(600))
    assert (warmed.computed, warmed.open) == (0, 1) and plans.plans_kept() == 0


def test_a_member_whose_account_is_gone_is_not_warmed(member, world):
    served(member, ago=100)
    member.account = None
    member.save()
    assert plans_warm(since=since(600)).looked_at == 0


def test_the_task_does_nothing_without_a_shared_store(settings, member, world):
    served(member, ago=100)
    assert settings.HOMEPAGE_PLAN_CACHE == ""
    assert "skipped" in tasks.plans_warm.apply().get()
    assert plans.plans_kept() == 0


@pytest.mark.services
def test_the_task_warms_into_the_shared_store_for_every_web_process(
    settings, real_services, member, world
):
    store(settings, real_services[1])
    served(member, ago=100)
    result = tasks.plans_warm.apply().get()  # as a worker runs it
    assert result["computed"] == 1, result
    another_process()  # a web process: nothing of its own
    assert homepage_build(member=member, at=timezone.now(), reuse=True).planned_at is not None


def test_a_promotion_queues_the_warming_only_with_a_shared_store(settings, monkeypatch):
    from modeling import tasks as modeling_tasks

    sent = []
    monkeypatch.setattr(
        modeling_tasks.current_app, "send_task", lambda name, **kw: sent.append(name)
    )
    assert modeling_tasks.plans_warm_enqueue() is False and sent == []
    settings.HOMEPAGE_PLAN_CACHE = "plans"
    assert modeling_tasks.plans_warm_enqueue() is True
    assert sent == ["homepage.tasks.plans_warm"] and sent[0] in tasks.plans_warm.name


def test_the_command_warms_and_says_what_it_did(member, world, capsys):
    served(member, ago=100)
    call_command("plans_warm", "--seconds", "600")
    out = capsys.readouterr()
    assert "plans of 1 members and devices: 1 computed" in out.out
    assert "no shared plan store" in out.err
    assert homepage_build(member=member, at=timezone.now(), reuse=True).planned_at


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seconds", "ten"], "--seconds 'ten' is not a whole number"),
        (["--seconds", "0"], "--seconds '0' must be at least 1"),
        (["--limit", "-3"], "--limit '-3' must be at least 1"),
    ],
)
def test_the_command_names_a_bad_value(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("plans_warm", *args)


def test_the_command_refuses_when_plans_are_off(settings):
    settings.HOMEPAGE_PLAN_SECONDS = 0
    with pytest.raises(CommandError, match="plans are off"):
        call_command("plans_warm")


def test_a_plan_kept_under_a_key_that_changed_is_computed_again(member, world):
    """As after a promotion, which changes the gate's stamp in every member's key."""
    homepage_build(member=member, at=timezone.now(), reuse=True)
    assert plans_warm(since=since(600)).current == 1
    Title.objects.filter(pk=world[20].pk).update(name="Renamed", updated_at=timezone.now())
    assert plans_warm(since=since(600)).computed == 1


def test_a_canary_that_ships_queues_the_warming_after_its_embeddings(monkeypatch):
    from modeling import tasks as modeling_tasks
    from rollouts import services as rollouts_services
    from rollouts import tasks as rollouts_tasks

    queued = []
    monkeypatch.setattr(rollouts_services, "readouts_all", lambda: {7: 1})
    monkeypatch.setattr(rollouts_services, "shipped_versions", lambda experiment_ids: [3])
    monkeypatch.setattr(
        modeling_tasks, "embeddings_enqueue", lambda version_id: queued.append(version_id)
    )
    monkeypatch.setattr(modeling_tasks, "plans_warm_enqueue", lambda: queued.append("plans"))
    rollouts_tasks.readouts.apply().get()
    assert queued == [3, "plans"]
    queued.clear()
    monkeypatch.setattr(rollouts_services, "shipped_versions", lambda experiment_ids: [])
    rollouts_tasks.readouts.apply().get()
    assert queued == []  # nothing shipped: what serves did not change


def test_a_member_deleted_while_warming_is_passed_over(member, world, monkeypatch):
    served(member, ago=100)
    real = services.Member.objects.filter

    def gone(*args, **kwargs):  # the profile was deleted between the two reads
        return real(*args, **kwargs).exclude(pk=member.pk)

    monkeypatch.setattr(services.Member.objects, "filter", gone)
    assert plans_warm(since=since(600)).looked_at == 0
