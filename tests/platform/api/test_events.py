import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Interaction
from tests.factories import MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db


def play(member, title, **extra):
    return {
        "event_id": str(uuid.uuid4()),
        "type": "play",
        "member": member.pk,
        "title": title.pk,
        "watched_seconds": 1200,
        **extra,
    }


def test_valid_batch_is_stored(api, member):
    title = TitleFactory()
    response = api.post(
        "/api/v1/events", {"events": [play(member, title), play(member, title)]}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"stored": 2, "duplicates": 0}
    assert Interaction.objects.filter(member=member, type="play").count() == 2


def test_repeated_event_id_is_stored_once(api, member):
    title = TitleFactory()
    event = play(member, title)
    first = api.post("/api/v1/events", {"events": [event, event]}, format="json")
    again = api.post("/api/v1/events", {"events": [event]}, format="json")
    assert first.json() == {"stored": 1, "duplicates": 1}
    assert again.status_code == 201 and again.json() == {"stored": 0, "duplicates": 1}
    assert Interaction.objects.filter(event_id=event["event_id"]).count() == 1


def test_unknown_title_rejects_whole_batch_naming_index_and_field(api, member):
    good = play(member, TitleFactory())
    bad = {**play(member, TitleFactory()), "title": 999999}
    response = api.post("/api/v1/events", {"events": [good, bad]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"events": {"1": {"title": ["Unknown title id 999999."]}}}
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "watch"}, "type"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"watched_seconds": -5}, "watched_seconds"),
        ({"occurred_at": "yesterday-ish"}, "occurred_at"),
        ({"member": "x"}, "member"),
    ],
)
def test_malformed_event_is_400_naming_the_field(api, member, change, field):
    event = {**play(member, TitleFactory()), **change}
    response = api.post(
        "/api/v1/events", {"events": [play(member, TitleFactory()), event]}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["events"]["1"]
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("body", [{}, {"events": []}, {"events": "play"}, [1, 2], {"events": [42]}])
def test_malformed_batch_is_400(api, body):
    response = api.post("/api/v1/events", body, format="json")
    assert response.status_code == 400
    assert not Interaction.objects.exists()


def test_batch_over_the_limit_is_400(api, member):
    title = TitleFactory()
    response = api.post(
        "/api/v1/events", {"events": [play(member, title) for _ in range(501)]}, format="json"
    )
    assert response.status_code == 400
    assert not Interaction.objects.exists()


def test_event_for_another_accounts_member_is_400(api, member):
    stranger = MemberFactory()
    response = api.post(
        "/api/v1/events", {"events": [play(stranger, TitleFactory())]}, format="json"
    )
    assert response.status_code == 400
    assert "not a profile of this account" in response.json()["events"]["0"]["member"][0]


def test_type_specific_fields_are_required(api, member):
    title = TitleFactory()
    events = [
        {"event_id": str(uuid.uuid4()), "type": "play", "member": member.pk, "title": title.pk},
        {
            "event_id": str(uuid.uuid4()),
            "type": "impression_seen",
            "member": member.pk,
            "title": title.pk,
        },
        {
            "event_id": str(uuid.uuid4()),
            "type": "search_play",
            "member": member.pk,
            "title": title.pk,
            "watched_seconds": 10,
        },
    ]
    errors = api.post("/api/v1/events", {"events": events}, format="json").json()["events"]
    assert set(errors["0"]) == {"watched_seconds"}
    assert set(errors["1"]) == {"page_id"}
    assert set(errors["2"]) == {"query"}


def test_impression_seen_must_reference_a_page_served_to_that_member(api, member, client_for):
    title = TitleFactory()
    other = MemberFactory()
    page_id = (
        client_for(other.account).get(f"/api/v1/members/{other.pk}/homepage").json()["page_id"]
    )
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "impression_seen",
        "member": member.pk,
        "title": title.pk,
        "page_id": page_id,
    }
    response = api.post("/api/v1/events", {"events": [event]}, format="json")
    assert response.status_code == 400
    assert "was not served to member" in response.json()["events"]["0"]["page_id"][0]


def test_future_event_is_rejected_and_past_one_keeps_its_time(api, member):
    title = TitleFactory()
    past = timezone.now() - timedelta(days=3)
    future = timezone.now() + timedelta(days=1)
    assert (
        api.post(
            "/api/v1/events",
            {"events": [play(member, title, occurred_at=future.isoformat())]},
            format="json",
        ).status_code
        == 400
    )
    assert (
        api.post(
            "/api/v1/events",
            {"events": [play(member, title, occurred_at=past.isoformat())]},
            format="json",
        ).status_code
        == 201
    )
    assert Interaction.objects.get().occurred_at == past


def test_anonymous_cannot_post_events():
    from rest_framework.test import APIClient

    assert APIClient().post("/api/v1/events", {"events": []}, format="json").status_code == 401


def test_viewing_activity_lists_own_plays_newest_first(api, member, client_for):
    old, new = TitleFactory(), TitleFactory()
    now = timezone.now()
    events = [
        play(member, old, occurred_at=(now - timedelta(days=2)).isoformat()),
        play(member, new, occurred_at=(now - timedelta(hours=1)).isoformat()),
        {**play(member, new), "type": "thumb_up", "watched_seconds": None},
    ]
    assert api.post("/api/v1/events", {"events": events}, format="json").status_code == 201
    body = api.get(f"/api/v1/members/{member.pk}/plays").json()
    assert [p["title"]["id"] for p in body["plays"]] == [new.pk, old.pk]
    assert api.get(f"/api/v1/members/{member.pk}/plays", {"limit": 0}).status_code == 400
    stranger = MemberFactory()
    assert client_for(stranger.account).get(f"/api/v1/members/{member.pk}/plays").status_code == 404
