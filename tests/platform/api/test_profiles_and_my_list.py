"""Profiles (create, rename, delete) and My List through the API."""

import uuid

import pytest
from django.utils import timezone

from members.models import Member
from tests.factories import MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db


def test_create_rename_and_delete_a_profile(api, member):
    created = api.post("/api/v1/members", {"name": "Kids", "is_kids": True}, format="json")
    assert created.status_code == 201, created.json()
    kid = created.json()
    assert kid["name"] == "Kids" and kid["is_kids"] is True
    renamed = api.patch(f"/api/v1/members/{kid['id']}", {"name": "Little ones"}, format="json")
    assert renamed.json() == {**kid, "name": "Little ones"}
    names = [m["name"] for m in api.get("/api/v1/me").json()["members"]]
    assert names == ["Ann", "Little ones"]
    assert api.delete(f"/api/v1/members/{kid['id']}").status_code == 204
    assert [m["name"] for m in api.get("/api/v1/me").json()["members"]] == ["Ann"]


def test_profile_errors_say_what_to_do(api, member):
    for name in ("B", "C", "D", "E"):
        assert api.post("/api/v1/members", {"name": name}, format="json").status_code == 201
    full = api.post("/api/v1/members", {"name": "F"}, format="json")
    assert full.status_code == 400 and "already has 5 profiles" in str(full.json())
    taken = api.patch(f"/api/v1/members/{member.pk}", {"name": "B"}, format="json")
    assert taken.status_code == 400 and "already has a profile named 'B'" in str(taken.json())
    blank = api.post("/api/v1/members", {"name": ""}, format="json")
    assert blank.status_code == 400 and "name" in blank.json()
    other = MemberFactory()
    assert api.patch(f"/api/v1/members/{other.pk}", {"name": "X"}, format="json").status_code == 404
    assert api.delete(f"/api/v1/members/{other.pk}").status_code == 404


def test_a_deleted_profile_with_history_is_gone_from_every_account_scoped_call(api, member):
    ben = api.post("/api/v1/members", {"name": "Ben"}, format="json").json()
    title = TitleFactory()
    assert api.get(f"/api/v1/members/{ben['id']}/homepage").status_code == 200  # a page: facts
    assert api.delete(f"/api/v1/members/{ben['id']}").status_code == 204
    assert Member.objects.filter(pk=ben["id"], account=None).exists()
    assert api.get(f"/api/v1/members/{ben['id']}/homepage").status_code == 404
    assert api.get(f"/api/v1/members/{ben['id']}/plays").status_code == 404
    event = {
        "event_id": str(uuid.uuid4()), "type": "play", "member": ben["id"], "title": title.pk,
        "watched_seconds": 30,
    }  # fmt: skip
    rejected = api.post("/api/v1/events", {"events": [event]}, format="json")
    assert rejected.status_code == 400 and "not a profile of this account" in str(rejected.json())


def test_my_list_round_trip_and_its_row(api, member, settings):
    settings.HOMEPAGE_ROW_SIZE = 5
    titles = TitleFactory.create_batch(12)
    saved = [titles[3], titles[7]]
    for title in saved:
        assert (
            api.post(
                f"/api/v1/members/{member.pk}/my-list", {"title": title.pk}, format="json"
            ).status_code
            == 201
        )
    again = api.post(f"/api/v1/members/{member.pk}/my-list", {"title": saved[0].pk}, format="json")
    assert again.status_code == 200
    listed = api.get(f"/api/v1/members/{member.pk}/my-list").json()
    assert [e["title"]["id"] for e in listed["entries"]] == [saved[1].pk, saved[0].pk]
    rows = {r["key"]: r for r in api.get(f"/api/v1/members/{member.pk}/homepage").json()["rows"]}
    assert [i["title"]["id"] for i in rows["my_list"]["items"]] == [saved[1].pk, saved[0].pk]
    assert api.delete(f"/api/v1/members/{member.pk}/my-list/{saved[1].pk}").status_code == 204
    missing = api.delete(f"/api/v1/members/{member.pk}/my-list/{saved[1].pk}")
    assert missing.status_code == 404 and "is not on Ann's list" in missing.json()["detail"]
    rows = {r["key"]: r for r in api.get(f"/api/v1/members/{member.pk}/homepage").json()["rows"]}
    assert [i["title"]["id"] for i in rows["my_list"]["items"]] == [saved[0].pk]
    bad = api.post(f"/api/v1/members/{member.pk}/my-list", {"title": 999999}, format="json")
    assert bad.status_code == 400 and "Unknown title id 999999" in str(bad.json())
    other = MemberFactory()
    assert api.get(f"/api/v1/members/{other.pk}/my-list").status_code == 404


def test_my_list_keeps_a_kids_profile_to_kids_titles(client_for):
    kid = MemberFactory(is_kids=True)
    api = client_for(kid.account)
    adult = TitleFactory(maturity_rating="16+", added_at=timezone.now())
    response = api.post(f"/api/v1/members/{kid.pk}/my-list", {"title": adult.pk}, format="json")
    assert response.status_code == 400 and "not for a kids profile" in str(response.json())
