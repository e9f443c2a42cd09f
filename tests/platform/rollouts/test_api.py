"""The experiments API: staff only; create, start, stop, read; every bad input a 400 naming
the problem, with nothing saved."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config import celery_app
from modeling.models import ModelVersion
from rollouts.models import Arm, Experiment, ExperimentDecision, Readout
from tests.platform.rollouts.test_metrics import T0
from tests.platform.rollouts.test_metrics import log as log  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

AB = {
    "name": "mf vs production",
    "surface": "model",
    "arms": [
        {"name": "control", "share": 0.5, "is_control": True},
        {"name": "mf", "share": 0.5},
    ],
}


def version() -> ModelVersion:
    return ModelVersion.objects.create(
        kind="mf", checkpoint="x", trained_as_of=timezone.now(), n_train_events=1
    )


def with_arm(**changes) -> dict:
    body = {**AB, "arms": [dict(a) for a in AB["arms"]]}
    body["arms"][1].update(changes)
    return body


def nothing_saved(before: int = 0) -> None:
    assert Experiment.objects.count() == before
    assert Arm.objects.count() == 2 * before
    assert ExperimentDecision.objects.count() == before


def test_every_experiment_endpoint_is_staff_only(member):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=member.account).key}")
    for method, path in [
        ("get", "/api/v1/experiments"),
        ("post", "/api/v1/experiments"),
        ("get", "/api/v1/experiments/1"),
        ("post", "/api/v1/experiments/1/start"),
        ("post", "/api/v1/experiments/1/stop"),
        ("post", "/api/v1/experiments/1/readouts"),
    ]:
        response = getattr(client, method)(path, AB if method == "post" else None, format="json")
        assert response.status_code == 403, (method, path, response.content)
    nothing_saved()


def test_create_start_read_and_stop(staff_api):
    candidate = version()
    response = staff_api.post(
        "/api/v1/experiments", with_arm(model_version=candidate.pk), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["live"] == {}
    assert [(a["name"], a["share"], a["model_version"]) for a in body["arms"]] == [
        ("control", 0.5, None),
        ("mf", 0.5, candidate.pk),
    ]
    experiment_id = body["id"]
    at = "2026-01-05T00:00:00Z"
    started = staff_api.post(f"/api/v1/experiments/{experiment_id}/start", {"at": at})
    assert started.status_code == 200, started.content
    assert started.json()["status"] == "running"
    assert started.json()["started_at"] == at
    assert [d["action"] for d in started.json()["decisions"]] == ["start"]
    again = staff_api.post(f"/api/v1/experiments/{experiment_id}/start", {})
    assert again.status_code == 400 and "only a draft starts" in str(again.json())
    listed = staff_api.get("/api/v1/experiments").json()
    assert [e["id"] for e in listed] == [experiment_id]
    stopped = staff_api.post(f"/api/v1/experiments/{experiment_id}/stop", {"reason": "done"})
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert stopped.json()["decisions"][-1]["reason"] == "done"
    assert staff_api.post(f"/api/v1/experiments/{experiment_id}/stop", {}).status_code == 400
    assert staff_api.get("/api/v1/experiments/99999").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (with_arm(share=0.4), "shares sum to 0.9"),
        (with_arm(share=0.7), "sum"),
        (with_arm(model_version=999999), "unknown model version 999999"),
        ({**AB, "arms": [{**AB["arms"][0], "is_control": False}, AB["arms"][1]]}, "is_control"),
        (
            {**with_arm(explorer={"policy": "no_such_policy"}), "surface": "slots"},
            "no_such_policy",
        ),
        (
            {
                **with_arm(explorer={"policy": "epsilon_greedy", "params": {"bogus": 1}}),
                "surface": "slots",
            },
            "bogus",
        ),
        (
            {**with_arm(explorer={"policy": "epsilon_greedy", "rate": 2.0}), "surface": "slots"},
            "2.0",
        ),
        ({**AB, "surface": "moon"}, "moon"),
        ({**AB, "kind": "canary"}, "control and candidate"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem_and_nothing_is_saved(staff_api, body, message):
    response = staff_api.post("/api/v1/experiments", body, format="json")
    assert response.status_code == 400, response.content
    assert message in str(response.json()), response.json()
    nothing_saved()


def test_a_second_running_experiment_over_the_same_surface_is_refused(staff_api):
    first = staff_api.post("/api/v1/experiments", {**AB, "start": True}, format="json")
    assert first.status_code == 201, first.content
    overlapping = staff_api.post(
        "/api/v1/experiments", {**AB, "name": "another", "start": True}, format="json"
    )
    assert overlapping.status_code == 400
    assert f"Experiment {first.json()['id']}" in overlapping.json()["surface"][0]
    nothing_saved(before=1)
    draft = staff_api.post("/api/v1/experiments", {**AB, "name": "draft"}, format="json").json()
    refused = staff_api.post(f"/api/v1/experiments/{draft['id']}/start", {})
    assert refused.status_code == 400 and "already runs on the model surface" in str(refused.json())
    assert Experiment.objects.get(pk=draft["id"]).status == "draft"
    other_surface = {
        **AB,
        "name": "row order",
        "surface": "row_order",
        "arms": [
            {"name": "control", "share": 0.5, "is_control": True},
            {
                "name": "softmax",
                "share": 0.5,
                "explorer": {"policy": "softmax", "params": {"temperature": 2.0}},
            },
        ],
        "start": True,
    }
    assert staff_api.post("/api/v1/experiments", other_surface, format="json").status_code == 201


def test_a_canary_created_through_the_api_has_its_control_arm(staff_api):
    body = {
        "name": "canary",
        "surface": "artwork",
        "kind": "canary",
        "arms": [
            {"name": "control"},
            {"name": "candidate", "explorer": {"policy": "linucb", "params": {"alpha": 1.0}}},
        ],
        "start": True,
    }
    response = staff_api.post("/api/v1/experiments", body, format="json")
    assert response.status_code == 201, response.content
    arms = {a["name"]: a for a in response.json()["arms"]}
    assert arms["control"]["is_control"] and not arms["candidate"]["is_control"]
    assert response.json()["canary_share"] == 0.01


def test_readouts_on_demand_run_on_the_worker_and_show_in_the_detail(staff_api, log):  # noqa: F811
    experiment, _ = log
    celery_app.conf.task_always_eager = True  # the task runs in-process, as a worker would
    try:
        response = staff_api.post(f"/api/v1/experiments/{experiment.pk}/readouts")
    finally:
        celery_app.conf.task_always_eager = False
    assert response.status_code == 202, response.content
    assert Readout.objects.filter(experiment=experiment).count() == 4
    detail = staff_api.get(f"/api/v1/experiments/{experiment.pk}").json()
    assert [(r["day"], r["arm"]) for r in detail["readouts"]] == [
        (0, "control"),
        (0, "treatment"),
        (1, "control"),
        (1, "treatment"),
    ]
    day1 = detail["readouts"][2]
    assert day1["metrics"]["minutes_per_day"]["mean"] == 22.5
    assert detail["live"]["control"]["members"] == 2
    assert detail["live"]["control"]["metrics"]["minutes_per_day"]["n"] == 2
    assert datetime.fromisoformat(detail["started_at"]) == T0.astimezone(UTC)
