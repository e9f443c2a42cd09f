"""The OpenAPI schema says what the API does (each point one the issue found untrue)."""

import pytest
import yaml
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec(django_db_blocker):
    with django_db_blocker.unblock():
        return yaml.safe_load(APIClient().get("/api/v1/schema/").content)


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def component(spec, ref: str) -> dict:
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_titles_are_documented_as_the_paged_object_they_are(spec):
    ok = spec["paths"]["/api/v1/titles"]["get"]["responses"]["200"]
    body = component(spec, ok["content"]["application/json"]["schema"]["$ref"])
    assert {"count", "next", "previous", "results"} <= set(body["properties"])
    names = {p["name"] for p in spec["paths"]["/api/v1/titles"]["get"]["parameters"]}
    assert names == {"page", "page_size"}


def test_every_operation_documents_its_errors(spec):
    for path, method, operation in operations(spec):
        codes = set(operation["responses"])
        errors = {code for code in codes if code.startswith("4")}
        assert errors, (method, path)
        for code in errors:
            assert operation["responses"][code]["content"]["application/json"], (path, code)
        if path != "/api/v1/auth/token":
            assert "401" in codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        if method == "post" and path in ("/api/v1/events", "/api/v1/auth/token"):
            assert {"400", "413", "415"} <= codes, (method, path)
    assert "409" in spec["paths"]["/api/v1/events"]["post"]["responses"]
    assert "429" in spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "403" in spec["paths"]["/api/v1/models/retrain"]["post"]["responses"]
    assert "404" in spec["paths"]["/api/v1/search"]["get"]["responses"]


def test_the_token_endpoint_asks_for_credentials_and_answers_a_token(spec):
    operation = spec["paths"]["/api/v1/auth/token"]["post"]
    request = component(
        spec, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert set(request["required"]) == {"username", "password"}
    response = component(
        spec, operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert response["required"] == ["token"] and set(response["properties"]) == {"token"}


def test_the_homepage_clock_is_a_date_time(spec):
    (at,) = [
        p
        for p in spec["paths"]["/api/v1/members/{member_id}/homepage"]["get"]["parameters"]
        if p["name"] == "at"
    ]
    assert at["schema"] == {"type": "string", "format": "date-time"}
    assert "1970-01-01T00:00:00Z" in at["description"]


def test_request_bodies_are_json_only(spec):
    for path, _method, operation in operations(spec):
        if "requestBody" in operation:
            assert set(operation["requestBody"]["content"]) == {"application/json"}, path


def test_each_event_type_states_the_fields_it_requires(spec):
    body = spec["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    batch = component(spec, body["schema"]["$ref"])["properties"]["events"]
    assert (batch["minItems"], batch["maxItems"]) == (1, 500)
    event = component(spec, batch["items"]["$ref"])
    mapping = event["discriminator"]["mapping"]
    assert set(mapping) == {"impression_seen", "play", "thumb_up", "thumb_down", "search_play"}
    required = {kind: set(component(spec, ref)["required"]) for kind, ref in mapping.items()}
    common = {"event_id", "type", "member", "title"}
    assert required == {
        "impression_seen": common | {"page_id"},
        "play": common | {"watched_seconds"},
        "thumb_up": common,
        "thumb_down": common,
        "search_play": common | {"watched_seconds", "query"},
    }
    play = component(spec, mapping["play"])["properties"]
    assert play["event_id"] == {
        "type": "string",
        "format": "uuid",
        "description": "Client-generated; a repeated id is stored once.",
    }
    assert play["title"]["maximum"] == 2**63 - 1


def test_the_device_is_an_optional_choice_of_the_homepage_and_of_every_event(spec):
    devices = ["tv", "phone", "tablet", "desktop"]
    (device,) = [
        p
        for p in spec["paths"]["/api/v1/members/{member_id}/homepage"]["get"]["parameters"]
        if p["name"] == "device"
    ]
    assert device["schema"]["enum"] == devices and not device.get("required", False)
    assert "unknown" in device["description"]
    body = spec["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    batch = component(spec, body["schema"]["$ref"])["properties"]["events"]
    for ref in component(spec, batch["items"]["$ref"])["discriminator"]["mapping"].values():
        event = component(spec, ref)
        assert "device" not in event["required"]
        prop = event["properties"]["device"]
        enum = prop.get("enum") or component(spec, prop["allOf"][0]["$ref"])["enum"]
        assert enum == devices, ref
