"""The lab's API: staff only, documented in the schema, each endpoint one selector."""

import pytest
from rest_framework.test import APIClient

from lab.models import TrafficRun
from modeling.models import RetrainRun
from modeling.services import retrain_execute, retrain_run_create
from tests.factories import AccountFactory
from tests.platform.modeling.test_services import clustered_log

pytestmark = pytest.mark.django_db

LAB_GETS = [
    "/api/v1/lab/models",
    "/api/v1/lab/health",
    "/api/v1/lab/clicks",
    "/api/v1/lab/traffic",
    "/api/v1/lab/explorer",
]


@pytest.fixture
def staff(client_for):
    return client_for(AccountFactory(username="boss", is_staff=True))


def test_the_lab_is_staff_only(api):
    for path in LAB_GETS:
        assert api.get(path).status_code == 403, path
        assert APIClient().get(path).status_code == 401, path
    assert api.post("/api/v1/lab/traffic", {"members": 1, "rate": 1}).status_code == 403
    assert api.post("/api/v1/lab/traffic/1/stop").status_code == 403
    assert api.get("/api/v1/lab/retrain/1").status_code == 403


def test_every_lab_endpoint_is_in_the_schema():
    schema = APIClient().get("/api/v1/schema/").content.decode()
    for path in [*LAB_GETS, "/api/v1/lab/retrain/{run_id}", "/api/v1/lab/traffic/{run_id}/stop"]:
        assert f"{path}:" in schema, path
    for path in ["/api/v1/members:", "/api/v1/members/{member_id}/my-list/{title_id}:"]:
        assert path in schema


def test_health_clicks_and_models_after_a_retrain(staff):
    members, _ = clustered_log(n_members=10, n_titles=20, plays_each=8)
    run = retrain_execute(run_id=retrain_run_create(trigger="test").pk)
    assert run.status == RetrainRun.Status.SUCCEEDED, run.error
    for member in members[:3]:
        viewer = APIClient()
        viewer.force_authenticate(member.account)
        assert viewer.get(f"/api/v1/members/{member.pk}/homepage").status_code == 200
    health = staff.get("/api/v1/lab/health", {"window": "1h"}).json()
    assert health["bucket"] == "minute" and len(health["points"]) == 61
    assert sum(p["pages"] for p in health["points"]) == 3
    assert any(p["coverage"] and p["exposure_gini"] is not None for p in health["points"])
    clicks = staff.get("/api/v1/lab/clicks", {"window": "24h"}).json()
    assert clicks["by_position"][0]["key"] == "0" and clicks["by_position"][0]["impressions"] >= 3
    models = staff.get("/api/v1/lab/models").json()
    assert models["production"] == run.promoted_id
    assert {v["kind"] for v in models["versions"]} == {"popularity", "mf"}
    assert models["experiments"]["available"] is True and models["experiments"]["experiments"] == []
    progress = staff.get(f"/api/v1/lab/retrain/{run.pk}").json()
    assert progress["status"] == "succeeded" and progress["expected"] == 2
    assert [d["kind"] for d in progress["decisions"]] == ["popularity", "mf"]
    assert progress["promoted"] == run.promoted_id
    assert staff.get("/api/v1/lab/retrain/99999").status_code == 404


def test_bad_lab_input_is_a_400_that_says_why(staff):
    assert "window" in staff.get("/api/v1/lab/health", {"window": "2y"}).json()
    bad = staff.post("/api/v1/lab/traffic", {"members": 0, "rate": -1}, format="json").json()
    assert "members" in bad and "rate" in bad
    assert staff.post("/api/v1/lab/traffic/999/stop").status_code == 404
    assert not TrafficRun.objects.exists()
