"""Bad input gets a 4xx in JSON that names the problem, and nothing of a bad batch is stored.

Each case here is one the issue reported as a 500 or as silently accepted.
"""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Interaction
from tests.factories import MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db

TOO_BIG = 2**63  # one past the largest 64-bit key


def play(member, title, **extra):
    return {
        "event_id": str(uuid.uuid4()),
        "type": "play",
        "member": member.pk,
        "title": title.pk,
        "watched_seconds": 600,
        **extra,
    }


def post_events(api, *events):
    return api.post("/api/v1/events", {"events": list(events)}, format="json")


def errors_of(response, index=0) -> dict:
    return response.json()["events"][str(index)]


@pytest.mark.parametrize("field", ["title", "member"])
def test_an_id_past_64_bits_is_400_not_an_overflow(api, member, field):
    event = {**play(member, TitleFactory()), field: TOO_BIG}
    response = post_events(api, play(member, TitleFactory()), event)
    assert response.status_code == 400
    assert "less than or equal to 9223372036854775807" in errors_of(response, 1)[field][0]
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/members/{TOO_BIG}/homepage",
        f"/api/v1/members/{TOO_BIG}/plays",
        f"/api/v1/titles/{TOO_BIG}",
        f"/api/v1/models/retrain/{TOO_BIG}",
        "/api/v1/members/0/homepage",
    ],
)
def test_an_id_past_64_bits_in_a_path_is_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "Nothing at" in response.json()["detail"]


def test_search_as_a_member_past_64_bits_is_400(api):
    response = api.get("/api/v1/search", {"q": "space", "member": TOO_BIG})
    assert response.status_code == 400 and "member" in response.json()


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "1900-06-01T00:00:00Z", ""]
)
def test_a_homepage_clock_before_1970_or_blank_is_400(api, member, at):
    TitleFactory.create_batch(3)
    response = api.get(f"/api/v1/members/{member.pk}/homepage", {"at": at})
    assert response.status_code == 400, response.content
    assert "at" in response.json()


def test_the_homepage_clock_may_start_at_the_epoch(api, member):
    response = api.get(f"/api/v1/members/{member.pk}/homepage", {"at": "1970-01-01T00:00:00Z"})
    assert response.status_code == 200, response.content
    assert response.json()["rows"] == []  # nothing was in the catalogue yet


@pytest.mark.parametrize("when", ["1900-01-01T00:00:00Z", "0001-01-01T00:00:00Z"])
def test_an_event_dated_before_1970_is_400(api, member, when):
    response = post_events(api, play(member, TitleFactory(), occurred_at=when))
    assert response.status_code == 400
    assert "where the platform's clock starts" in errors_of(response)["occurred_at"][0]
    assert not Interaction.objects.exists()


def test_an_event_before_its_title_entered_the_catalogue_is_400(api, member):
    title = TitleFactory(added_at=timezone.now() - timedelta(days=10))
    early = (title.added_at - timedelta(days=1)).isoformat()
    response = post_events(api, play(member, title), play(member, title, occurred_at=early))
    assert response.status_code == 400
    assert "before title" in errors_of(response, 1)["occurred_at"][0]
    assert not Interaction.objects.exists()
    on_time = title.added_at.isoformat()
    assert post_events(api, play(member, title, occurred_at=on_time)).status_code == 201


@pytest.mark.parametrize("kind", ["play", "search_play"])
def test_watching_longer_than_the_title_runs_is_400(api, member, kind):
    title = TitleFactory(runtime_minutes=30)
    extra = {"type": kind, "query": "x"} if kind == "search_play" else {"type": kind}
    response = post_events(api, play(member, title, watched_seconds=30 * 60 + 1, **extra))
    assert response.status_code == 400
    assert "longer than title" in errors_of(response)["watched_seconds"][0]
    assert not Interaction.objects.exists()
    whole = post_events(api, play(member, title, watched_seconds=30 * 60, **extra))
    assert whole.status_code == 201


def test_a_negative_watch_time_is_400(api, member):
    response = post_events(api, play(member, TitleFactory(), watched_seconds=-1))
    assert response.status_code == 400 and "watched_seconds" in errors_of(response)


@pytest.mark.parametrize("event_id", [42, 0, 3.0, True])
def test_an_event_id_that_is_not_a_uuid_string_is_400(api, member, event_id):
    response = post_events(api, play(member, TitleFactory(), event_id=event_id))
    assert response.status_code == 400
    assert errors_of(response)["event_id"] == ["Must be a valid UUID."]
    assert not Interaction.objects.exists()


def test_a_page_id_that_is_not_a_uuid_string_is_400(api, member):
    response = post_events(api, play(member, TitleFactory(), page_id=7))
    assert response.status_code == 400 and "page_id" in errors_of(response)


def test_an_oversized_body_is_a_json_413_and_nothing_is_stored(api, member, settings):
    title = TitleFactory()
    events = [play(member, title) for _ in range(20)]
    body = json.dumps({"events": events})
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body) - 1
    response = api.generic("POST", "/api/v1/events", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "over" in response.json()["detail"] and "500 events" in response.json()["detail"]
    assert not Interaction.objects.exists()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)
    response = api.generic("POST", "/api/v1/events", body, content_type="application/json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body", ['{"events": [', "not json", '{"events": [1, 2,]}', "[" * 100_000 + "]" * 100_000]
)
def test_malformed_json_is_a_json_400(api, body):
    response = api.generic("POST", "/api/v1/events", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"],
)
def test_a_body_that_is_not_json_is_415(api, content_type):
    response = api.generic("POST", "/api/v1/events", "events=1", content_type=content_type)
    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]
    assert not Interaction.objects.exists()


def test_another_account_may_use_the_same_event_id(api, member, client_for):
    title = TitleFactory()
    event = play(member, title)
    assert post_events(api, event).json() == {"stored": 1, "duplicates": 0}
    other = MemberFactory()
    theirs = {**event, "member": other.pk}
    response = post_events(client_for(other.account), theirs)
    assert response.json() == {"stored": 1, "duplicates": 0}
    assert Interaction.objects.filter(event_id=event["event_id"]).count() == 2


def test_a_replay_with_the_same_payload_is_a_duplicate(api, member):
    title = TitleFactory()
    sent = play(member, title, occurred_at=(timezone.now() - timedelta(hours=1)).isoformat())
    left_to_server = play(member, title)  # the retry arrives later: its time is not compared
    assert post_events(api, sent, left_to_server).json() == {"stored": 2, "duplicates": 0}
    again = post_events(api, sent, left_to_server)
    assert again.status_code == 201 and again.json() == {"stored": 0, "duplicates": 2}


@pytest.mark.parametrize(
    ("change", "field"),
    [({"watched_seconds": 601}, "watched_seconds"), ({"type": "thumb_up"}, "type")],
)
def test_a_replay_that_differs_is_409_and_nothing_of_its_batch_is_stored(
    api, member, change, field
):
    title = TitleFactory()
    first = play(member, title)
    assert post_events(api, first).status_code == 201
    fresh = play(member, title)
    response = post_events(api, fresh, {**first, **change})
    assert response.status_code == 409
    message = errors_of(response, 1)["event_id"][0]
    assert "already names another event" in message and field in message
    assert not Interaction.objects.filter(event_id=fresh["event_id"]).exists()
    assert Interaction.objects.get(event_id=first["event_id"]).watched_seconds == 600


def test_an_id_reused_for_another_profile_of_the_account_is_409(client_for):
    first = MemberFactory()
    second = MemberFactory(account=first.account)
    title = TitleFactory()
    api = client_for(first.account)
    event = play(first, title)
    assert post_events(api, event).status_code == 201
    response = post_events(api, {**event, "member": second.pk})
    assert response.status_code == 409 and "member" in errors_of(response)["event_id"][0]


def test_one_id_twice_in_a_batch_with_different_payloads_is_409(api, member):
    event = play(member, TitleFactory())
    response = post_events(api, event, {**event, "watched_seconds": 1})
    assert response.status_code == 409 and "1" in response.json()["events"]
    assert not Interaction.objects.exists()
