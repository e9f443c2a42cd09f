"""The homepage rows and payload the browser app builds on: the billboard, thumbs that change
the next page, My List, the match score, and what the page says about why it looks so."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Interaction
from modeling.models import RetrainRun
from modeling.services import retrain_execute, retrain_run_create
from tests.factories import MemberFactory, TitleFactory
from tests.platform.modeling.test_services import clustered_log

pytestmark = pytest.mark.django_db


def event(member, title, kind, minutes_ago=0, **extra):
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "member": member.pk,
        "title": title.pk,
        "occurred_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
        **extra,
    }


def homepage(api, member) -> dict:
    response = api.get(f"/api/v1/members/{member.pk}/homepage")
    assert response.status_code == 200, response.json()
    return response.json()


def shown(page) -> set[int]:
    return {item["title"]["id"] for row in page["rows"] for item in row["items"]}


def test_a_thumb_down_removes_the_title_from_the_next_homepage(api, member):
    TitleFactory.create_batch(10, genres=["Comedy"])
    first = homepage(api, member)
    top = next(r for r in first["rows"] if r["key"] == "top_picks")["items"][0]["title"]
    placed = {"page_id": first["page_id"], "row_key": "top_picks", "position": 0}
    down = event(member, type("T", (), {"pk": top["id"]}), "thumb_down", **placed)
    assert api.post("/api/v1/events", {"events": [down]}, format="json").status_code == 201
    assert top["id"] not in shown(homepage(api, member))


def test_a_thumb_down_on_a_started_title_drops_it_from_continue_watching(api, member, settings):
    settings.HOMEPAGE_ROW_SIZE = 2  # Top Picks leaves titles for Because you watched
    started = TitleFactory(genres=["Drama"])
    TitleFactory.create_batch(4, genres=["Drama"])
    api.post(
        "/api/v1/events",
        {"events": [event(member, started, "play", 30, watched_seconds=300)]},
        format="json",
    )
    rows = {r["key"]: r for r in homepage(api, member)["rows"]}
    assert rows["continue_watching"]["items"][0]["title"]["id"] == started.pk
    assert rows["because_you_watched"]["title"] == f"Because you watched {started.name}"
    api.post("/api/v1/events", {"events": [event(member, started, "thumb_down")]}, format="json")
    page = homepage(api, member)
    assert started.pk not in shown(page)
    assert {"continue_watching", "because_you_watched"}.isdisjoint(r["key"] for r in page["rows"])


def test_a_thumb_up_adds_because_you_liked_and_the_latest_verdict_wins(api, member, settings):
    settings.HOMEPAGE_ROW_SIZE = 2
    liked = TitleFactory(genres=["Horror"])
    alike = TitleFactory.create_batch(3, genres=["Horror"])
    TitleFactory.create_batch(5, genres=["Comedy"])
    assert "because_you_liked" not in {r["key"] for r in homepage(api, member)["rows"]}
    api.post("/api/v1/events", {"events": [event(member, liked, "thumb_up", 2)]}, format="json")
    rows = {r["key"]: r for r in homepage(api, member)["rows"]}
    because = rows["because_you_liked"]
    assert because["title"] == f"Because you liked {liked.name}"
    assert {i["title"]["id"] for i in because["items"]} <= {t.pk for t in alike}
    api.post("/api/v1/events", {"events": [event(member, liked, "thumb_down", 1)]}, format="json")
    page = homepage(api, member)
    assert "because_you_liked" not in {r["key"] for r in page["rows"]}
    assert liked.pk not in shown(page)


def test_the_billboard_is_the_best_scored_new_release_and_says_so(api, member, settings):
    old = TitleFactory.create_batch(6, added_at=timezone.now() - timedelta(days=300))
    new = TitleFactory.create_batch(3, added_at=timezone.now() - timedelta(days=5))
    other = MemberFactory()
    # Trending (the fallback's scores): new[2] is played most by someone else this week.
    plays = [event(other, new[2], "play", 60 - i, watched_seconds=60) for i in range(3)]
    plays += [event(other, new[0], "play", 10, watched_seconds=60)]
    plays += [event(other, old[0], "play", 5 + i, watched_seconds=60) for i in range(5)]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(other.account)
    assert client.post("/api/v1/events", {"events": plays}, format="json").status_code == 201
    page = homepage(api, member)
    billboard = page["rows"][0]
    assert (
        billboard["key"] == "billboard" and billboard["policy"] == "billboard:new_release_top_score"
    )
    assert [i["title"]["id"] for i in billboard["items"]] == [new[2].pk]
    assert "added in the last 60 days" in billboard["explanation"]
    assert sum(1 for r in page["rows"] for i in r["items"] if i["title"]["id"] == new[2].pk) == 1


def test_match_is_the_percentile_of_the_serving_score(api, member):
    titles = TitleFactory.create_batch(5)
    other = MemberFactory()
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(other.account)
    plays = [
        event(other, title, "play", 30 + k, watched_seconds=60)
        for i, title in enumerate(titles[:3])
        for k in range(i + 1)
    ]  # titles[0] played once, titles[1] twice, titles[2] three times; the rest never
    client.post("/api/v1/events", {"events": plays}, format="json")
    match = {
        i["title"]["id"]: i["match"] for r in homepage(api, member)["rows"] for i in r["items"]
    }
    assert match[titles[2].pk] == 100 and match[titles[1].pk] == 50 and match[titles[0].pk] == 0
    assert match[titles[3].pk] is None  # the fallback scores only what was played


def test_tied_scores_share_the_mean_of_their_ranks(api, member):
    titles = TitleFactory.create_batch(4)
    other = MemberFactory()
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(other.account)
    plays = [event(other, t, "play", 30, watched_seconds=60) for t in titles[:3]]
    plays += [event(other, titles[3], "play", 20 + k, watched_seconds=60) for k in range(2)]
    client.post("/api/v1/events", {"events": plays}, format="json")
    match = {
        i["title"]["id"]: i["match"] for r in homepage(api, member)["rows"] for i in r["items"]
    }
    # Scores 1, 1, 1, 2: the three tied share ranks 0..2 (mean 1 of 3), the fourth is top.
    assert [match[t.pk] for t in titles] == [33, 33, 33, 100]


def test_a_new_profile_is_told_nothing_is_personal_and_why_the_model_serves(client_for):
    members, _ = clustered_log()
    run = retrain_execute(run_id=retrain_run_create(trigger="test").pk)
    assert run.status == RetrainRun.Status.SUCCEEDED, run.error
    newcomer = MemberFactory(account=members[0].account, name="New")
    page = homepage(client_for(newcomer.account), newcomer)
    assert page["personal"] is False
    gate = page["gate"]
    assert sorted(d["kind"] for d in gate) == ["mf", "popularity"]
    serving = next(d for d in gate if d["version"] == page["model_version"]["id"])
    assert serving["promoted"] and serving["metric"] == "ndcg@10" and serving["reason"]
    veteran = homepage(client_for(members[0].account), members[0])
    assert veteran["personal"] is True


def test_my_list_titles_are_not_taken_by_the_billboard(api, member):
    new = TitleFactory(added_at=timezone.now() - timedelta(days=1))
    TitleFactory.create_batch(3, added_at=timezone.now() - timedelta(days=200))
    api.post(f"/api/v1/members/{member.pk}/my-list", {"title": new.pk}, format="json")
    rows = {r["key"]: r for r in homepage(api, member)["rows"]}
    assert [i["title"]["id"] for i in rows["my_list"]["items"]] == [new.pk]
    assert rows["billboard"]["policy"] == "billboard:top_score"
    assert Interaction.objects.count() == 0
