"""What a newcomer sees first: `make demo` adopts a simulated household as the demo account,
so after the warm-up its profiles (Ann, Ben and a kids profile) have histories of their own
and different Top Picks, whatever model the gate chose. Run here in-process: the demo's own
world recipe, its household adoption, seed_world, the simulator's client over HTTP against a
live server, and a retrain."""

from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog.models import KIDS_RATINGS
from members.services import User
from modeling.models import RetrainRun
from modeling.services import retrain_execute, retrain_run_create
from scripts.demo import DEMO_PASSWORD, DEMO_USER, Preview, adopt_demo_household, check_previews
from simulator.client import run_traffic
from simulator.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_demo_profiles_have_histories_and_top_picks_of_their_own(live_server, tmp_path):
    folder = tmp_path / "world"
    World.generate(120, 24, seed=0).save(folder)
    household = adopt_demo_household(Path(folder))
    assert [(m.name, m.is_kids) for m in household.members] == [
        ("Ann", False), ("Ben", False), ("Kids", True)
    ]  # fmt: skip
    assert adopt_demo_household(Path(folder)) == household  # adopting twice changes nothing
    call_command("seed_world", str(folder), demo_password=DEMO_PASSWORD, stdout=None)
    report = run_traffic(live_server.url, folder, days=4, seed=0, concurrency=1)
    assert report.plays > 20, report.summary()
    run = retrain_execute(run_id=retrain_run_create(trigger="test").pk)
    assert run.status == RetrainRun.Status.SUCCEEDED, run.error

    demo = User.objects.get(username=DEMO_USER)
    assert demo.is_staff
    client = APIClient()
    client.force_authenticate(demo)
    previews = []
    for member in client.get("/api/v1/me").json()["members"]:
        page = client.get(f"/api/v1/members/{member['id']}/homepage").json()
        previews.append(Preview(member["name"], member["is_kids"], page))
    assert check_previews(previews) == []  # histories, and Ann's Top Picks are not Ben's
    ann, ben, kids = previews
    a, b = (set(p.rows()["top_picks"]) for p in (ann, ben))
    assert a != b
    for preview in previews:
        assert preview.page["personal"] is True
        assert preview.page["gate"], "the page says which model the gate chose, and why"
    kid_ratings = {i["title"]["maturity_rating"] for r in kids.page["rows"] for i in r["items"]}
    assert kid_ratings <= set(KIDS_RATINGS)


def test_the_demo_check_refuses_profiles_without_history_or_with_the_same_top_picks():
    def page(*keys, top=(1, 2, 3)):
        rows = [{"key": k, "title": k, "items": []} for k in keys]
        rows.append({"key": "top_picks", "title": "Top Picks", "items": [
            {"title": {"id": i, "name": f"T{i}"}} for i in top
        ]})  # fmt: skip
        return {"rows": rows}

    fresh = [Preview("Ann", False, page()), Preview("Ben", False, page())]
    assert check_previews(fresh) == [
        "Ann has no viewing history on its first page",
        "Ben has no viewing history on its first page",
        "Ann and Ben get the same Top Picks",
    ]
    lived = [
        Preview("Ann", False, page("continue_watching")),
        Preview("Ben", False, page("because_you_watched", top=(1, 2, 4))),
    ]
    assert check_previews(lived) == []
