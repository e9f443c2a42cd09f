"""Assignment at serving: a member always sees the same arm (the hash of their id and the
experiment's salt, as recommender.abtest computes it), their arm's model version or explorer
policy serves them, a member outside every experiment sees production, and the page records
and names the experiment and arm."""

import pytest

from events.models import PageView
from modeling.selectors import production_version
from recommender.abtest import assignment
from rollouts.services import experiment_create, experiment_stop
from rollouts.serving import assignments_for
from tests.factories import MemberFactory
from tests.platform.modeling.test_services import clustered_log
from tests.platform.rollouts.helpers import first_production, register

pytestmark = pytest.mark.django_db


def homepage(client_for, member) -> dict:
    response = client_for(member.account).get(f"/api/v1/members/{member.pk}/homepage")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def two_versions(settings):
    settings.HOMEPAGE_ROW_SIZE = 6
    members, _ = clustered_log(n_members=16, n_titles=30, plays_each=6)
    production = first_production("popularity")
    candidate = register("mf")
    return members, production, candidate


def test_each_member_keeps_their_arm_and_is_served_its_model(two_versions, client_for):
    members, production, candidate = two_versions
    experiment = experiment_create(
        name="mf vs popularity",
        surface="model",
        arms=[
            {"name": "control", "share": 0.5, "is_control": True},
            {"name": "mf", "share": 0.5, "model_version": candidate.pk},
        ],
        start=True,
    )
    seen = set()
    for member in members:
        expected = assignment.arm_for(member.pk, experiment.salt, [("control", 0.5), ("mf", 0.5)])
        first, again = homepage(client_for, member), homepage(client_for, member)
        for body in (first, again):
            assert body["experiment"] == {
                "id": experiment.pk,
                "name": "mf vs popularity",
                "surface": "model",
                "arm": expected,
            }
            assert body["experiments"] == [body["experiment"]]
            served = candidate if expected == "mf" else production
            assert body["model_version"] == {"id": served.pk, "kind": served.kind}
            page = PageView.objects.get(page_id=body["page_id"])
            assert page.experiments == {str(experiment.pk): expected}
            assert page.model_version_id == served.pk
            assert page.build_ms is not None and page.build_ms > 0
        seen.add(expected)
    assert seen == {"control", "mf"}  # 16 members all in one arm: a chance of 2^-15
    assert production_version() == production  # an experiment never changes production


def test_a_member_outside_every_experiment_sees_production(two_versions, client_for):
    members, production, candidate = two_versions
    experiment = experiment_create(
        name="canary mf",
        surface="model",
        kind="canary",
        arms=[
            {"name": "control", "model_version": production.pk},
            {"name": "candidate", "model_version": candidate.pk},
        ],
        start=True,
    )
    assert experiment.canary_share == 0.01
    outside = [m for m in members if assignment.canary_arm(m.pk, experiment.salt, 0.01) is None]
    assert outside  # at 1% per arm, all 16 inside has a chance of 0.02^16
    for member in outside:
        body = homepage(client_for, member)
        assert body["experiment"] is None and body["experiments"] == []
        assert body["model_version"]["id"] == production.pk
        assert PageView.objects.get(page_id=body["page_id"]).experiments == {}
    member = outside[0]
    experiment_stop(experiment_id=experiment.pk)
    assert assignments_for(member_id=member.pk) == {}


def test_an_explorer_arm_serves_its_policy_and_control_production(settings, client_for):
    settings.HOMEPAGE_ROW_SIZE = 6
    members, _ = clustered_log(n_members=12, n_titles=30, plays_each=6)
    first_production("popularity")
    experiment = experiment_create(
        name="explore top picks",
        surface="slots",
        arms=[
            {"name": "control", "share": 0.5, "is_control": True},
            {
                "name": "greedy",
                "share": 0.5,
                "explorer": {"policy": "epsilon_greedy", "rate": 1.0, "positions": 2},
            },
        ],
        start=True,
    )
    arms = set()
    for member in members:
        body = homepage(client_for, member)
        arm = body["experiment"]["arm"]
        arms.add(arm)
        explored = [i for row in body["rows"] for i in row["items"] if i["explored"]]
        if arm == "greedy":
            assert explored and {i["policy"] for i in explored} == {"epsilon_greedy@v0"}
        else:  # no explorer in production: a deterministic page
            assert explored == []
    assert arms == {"control", "greedy"}
    assert experiment.surface == "slots"


def test_the_running_experiments_cost_one_query_a_page_until_one_changes(
    two_versions, django_assert_num_queries
):
    _, _, candidate = two_versions
    member = MemberFactory()
    experiment = experiment_create(
        name="one query",
        surface="model",
        arms=[
            {"name": "control", "share": 0.5, "is_control": True},
            {"name": "mf", "share": 0.5, "model_version": candidate.pk},
        ],
        start=True,
    )
    first = assignments_for(member_id=member.pk)
    with django_assert_num_queries(1):
        assert assignments_for(member_id=member.pk) == first
    experiment_stop(experiment_id=experiment.pk)
    assert assignments_for(member_id=member.pk) == {}  # the change is seen at once
