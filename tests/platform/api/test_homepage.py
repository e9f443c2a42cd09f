import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Impression, PageView
from tests.factories import MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db


def test_homepage_without_model_serves_popularity_fallback_and_says_so(api, member):
    TitleFactory.create_batch(30)
    response = api.get(f"/api/v1/members/{member.pk}/homepage")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["fallback"] is True
    assert body["fallback_reason"] == "no model in production"
    assert body["model_version"] is None
    keys = [row["key"] for row in body["rows"]]
    assert "top_picks" in keys
    assert PageView.objects.filter(page_id=body["page_id"], fallback=True).exists()


def test_every_slot_is_logged_with_propensity_and_features(api, member):
    TitleFactory.create_batch(25)
    body = api.get(f"/api/v1/members/{member.pk}/homepage").json()
    shown = [
        (row["key"], item["position"], item["title"]["id"])
        for row in body["rows"]
        for item in row["items"]
    ]
    logged = Impression.objects.filter(page_id=body["page_id"]).order_by("row_index", "position")
    assert [(i.row_key, i.position, i.title_id) for i in logged] == shown
    impression = logged.filter(row_key="top_picks").first()
    assert impression.propensity == 1.0
    assert impression.policy == "fallback:popularity"
    assert {"hour_sin", "days_in_catalog", "score"} <= set(impression.features)


def test_no_title_twice_on_a_page(api, member):
    TitleFactory.create_batch(60, added_at=timezone.now() - timedelta(days=3))
    body = api.get(f"/api/v1/members/{member.pk}/homepage").json()
    ids = [item["title"]["id"] for row in body["rows"] for item in row["items"]]
    assert len(ids) == len(set(ids)) > 20  # two rows filled from the same 60 titles


def test_kids_profile_sees_only_kids_titles(client_for):
    kid = MemberFactory(is_kids=True)
    TitleFactory.create_batch(10, maturity_rating="18+")
    TitleFactory.create_batch(10, maturity_rating="7+")
    body = client_for(kid.account).get(f"/api/v1/members/{kid.pk}/homepage").json()
    ratings = {item["title"]["maturity_rating"] for row in body["rows"] for item in row["items"]}
    assert ratings == {"7+"}


def test_another_accounts_member_is_404(api):
    stranger = MemberFactory()
    response = api.get(f"/api/v1/members/{stranger.pk}/homepage")
    assert response.status_code == 404
    assert not PageView.objects.exists()


def test_anonymous_is_401(member):
    from rest_framework.test import APIClient

    assert APIClient().get(f"/api/v1/members/{member.pk}/homepage").status_code == 401


def test_page_clock_in_the_future_is_rejected(api, member):
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    response = api.get(f"/api/v1/members/{member.pk}/homepage", {"at": future})
    assert response.status_code == 400
    assert "future" in response.json()["at"][0]


def test_new_releases_row_holds_recent_titles_newest_first(api, member, settings):
    settings.HOMEPAGE_ROW_SIZE = 5
    TitleFactory.create_batch(10, added_at=timezone.now() - timedelta(days=400))
    new = [TitleFactory(added_at=timezone.now() - timedelta(days=d)) for d in (9, 1, 5)]
    body = api.get(f"/api/v1/members/{member.pk}/homepage").json()
    rows = {r["key"]: r for r in body["rows"]}
    # The billboard claims the newest unplayed release first (nothing is scored: none played).
    assert [i["title"]["id"] for i in rows["billboard"]["items"]] == [new[1].pk]
    assert [i["title"]["id"] for i in rows["new_releases"]["items"]] == [new[2].pk, new[0].pk]


def test_continue_watching_and_because_you_watched(api, member, settings):
    settings.HOMEPAGE_ROW_SIZE = 5
    TitleFactory.create_batch(8, genres=["Comedy"])
    thrillers = TitleFactory.create_batch(4, genres=["Thriller"])
    started, finished = thrillers[0], thrillers[1]
    now = timezone.now()
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "play",
            "member": member.pk,
            "title": started.pk,
            "watched_seconds": 600,
            "occurred_at": (now - timedelta(hours=2)).isoformat(),
        },
        {
            "event_id": str(uuid.uuid4()),
            "type": "play",
            "member": member.pk,
            "title": finished.pk,
            "watched_seconds": 6000,
            "occurred_at": (now - timedelta(hours=1)).isoformat(),
        },
    ]
    assert api.post("/api/v1/events", {"events": events}, format="json").status_code == 201
    rows = {r["key"]: r for r in api.get(f"/api/v1/members/{member.pk}/homepage").json()["rows"]}
    assert [i["title"]["id"] for i in rows["continue_watching"]["items"]] == [started.pk]
    because = rows["because_you_watched"]
    assert because["title"] == f"Because you watched {finished.name}"
    assert {i["title"]["id"] for i in because["items"]} == {thrillers[2].pk, thrillers[3].pk}
