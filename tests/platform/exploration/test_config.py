"""Configuring the explorer: the staff API and the admin take a good config and refuse a bad
one with a message naming the field (HTTP 400, a form error), saving nothing."""

import pytest
from django.test import Client

from exploration.models import ExplorerConfig, UpdateRun
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

GOOD = {"enabled": True, "policy": "epsilon_greedy", "rate": 0.1, "floor": 0.0, "positions": 2}
BAD = [
    ({"rate": 1.5}, "rate", "outside [0, 1]"),
    ({"rate": -0.1}, "rate", "outside [0, 1]"),
    ({"floor": 0.5}, "floor", "could not sum to 1"),
    ({"policy": "greedy_ish"}, "policy", "unknown policy 'greedy_ish'"),
    ({"params": {"temperature": 0}}, "params", "unknown parameter"),
    ({"policy": "softmax", "params": {"temperature": 0}}, "params", "temperature=0"),
]


@pytest.fixture
def staff(member, client_for):
    member.account.is_staff = True
    member.account.save()
    return client_for(member.account)


def test_staff_configure_a_use_and_read_it_back(staff):
    response = staff.put("/api/v1/exploration/configs/slots", GOOD, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["policy"] == "epsilon_greedy"
    listed = {c["use"]: c for c in staff.get("/api/v1/exploration/configs").json()}
    assert listed["slots"]["enabled"] and not listed["artwork"]["enabled"]
    assert staff.get("/api/v1/exploration/configs/artwork").json()["policy"] == ""


@pytest.mark.parametrize(("change", "field", "message"), BAD, ids=str)
def test_a_bad_config_is_a_400_naming_the_field_and_nothing_is_saved(staff, change, field, message):
    assert staff.put("/api/v1/exploration/configs/slots", GOOD, format="json").status_code == 200
    before = list(ExplorerConfig.objects.values())
    response = staff.put("/api/v1/exploration/configs/slots", {**GOOD, **change}, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field]), response.json()
    assert list(ExplorerConfig.objects.values()) == before


def test_an_unknown_use_is_a_404_and_members_may_not_configure(staff, client_for):
    assert staff.put("/api/v1/exploration/configs/nope", GOOD, format="json").status_code == 404
    api = client_for(MemberFactory().account)
    assert api.put("/api/v1/exploration/configs/slots", GOOD, format="json").status_code == 403
    assert api.post("/api/v1/exploration/updates").status_code == 403
    assert not ExplorerConfig.objects.exists()


def test_staff_start_an_update_and_follow_it(staff, settings):
    from config import celery_app

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # the task runs in-process here (e2e: a worker)
    try:
        response = staff.post("/api/v1/exploration/updates")
    finally:
        celery_app.conf.task_always_eager = eager
    assert response.status_code == 202, response.json()
    run = staff.get(f"/api/v1/exploration/updates/{response.json()['run_id']}").json()
    assert run["status"] == "succeeded" and run["states"] == []
    assert staff.get("/api/v1/exploration/updates/999999").status_code == 404
    assert UpdateRun.objects.count() == 1


@pytest.fixture
def admin_client(db):
    account = MemberFactory().account
    account.is_staff = account.is_superuser = True
    account.save()
    client = Client()
    client.force_login(account)
    return client


def admin_form(**fields) -> dict:
    form = {**GOOD, "use": "slots", "params": "{}", **fields}
    form["enabled"] = "on" if form["enabled"] else ""
    return form


def test_the_admin_saves_a_good_config(admin_client):
    response = admin_client.post("/admin/exploration/explorerconfig/add/", admin_form())
    assert response.status_code == 302, response.content[:2000]
    assert ExplorerConfig.objects.get(use="slots").enabled


@pytest.mark.parametrize(("change", "field", "message"), BAD, ids=str)
def test_the_admin_shows_a_bad_config_as_a_form_error_and_saves_nothing(
    admin_client, change, field, message
):
    import json

    fields = {k: json.dumps(v) if k == "params" else v for k, v in change.items()}
    response = admin_client.post("/admin/exploration/explorerconfig/add/", admin_form(**fields))
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert not ExplorerConfig.objects.exists()


def test_explorer_on_installs_valid_defaults_and_keeps_existing_configs(world):
    from django.core.management import call_command

    from homepage.services import homepage_build
    from tests.factories import NOW

    from .conftest import configure

    configure("slots", policy="softmax", rate=0.0, enabled=False)
    call_command("explorer_on")
    configs = {c.use: c for c in ExplorerConfig.objects.all()}
    assert set(configs) == {"slots", "row_order", "artwork"}
    assert configs["slots"].policy == "softmax" and not configs["slots"].enabled  # kept
    assert configs["artwork"].enabled and configs["row_order"].enabled
    page = homepage_build(member=world["member"], at=NOW)
    assert page.exploration.row_order_policy == "softmax@v0"
    assert {s.artwork_policy for r in page.rows for s in r.slots} == {"linucb@v0"}
