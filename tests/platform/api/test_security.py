"""Who may do what: sign-in throttling, CSRF on session requests, staff-only controls, a
member's data for its own account only, and errors that never show a traceback."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from events.models import Interaction
from modeling.models import RetrainRun
from tests.factories import AccountFactory, MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-pass"


@pytest.fixture
def account():
    account = AccountFactory()
    account.set_password(PASSWORD)
    account.save()
    return account


def sign_in(username, password, address="10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/token", {"username": username, "password": password}
    )


def test_ten_wrong_passwords_then_every_attempt_is_429_the_right_one_included(account):
    for _ in range(10):
        assert sign_in(account.username, "guess").status_code == 400
    throttled = sign_in(account.username, "guess")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "throttled" in throttled.json()["detail"]
    assert sign_in(account.username, PASSWORD).status_code == 429  # no tell among the 429s
    assert sign_in(account.username, PASSWORD, address="10.0.0.2").status_code == 200


def test_guesses_at_one_account_from_many_addresses_are_throttled_too(account):
    for n in range(30):
        assert sign_in(account.username, "guess", address=f"10.1.0.{n}").status_code == 400
    assert sign_in(account.username, PASSWORD, address="10.2.0.1").status_code == 429
    other = AccountFactory()
    other.set_password(PASSWORD)
    other.save()
    assert sign_in(other.username, PASSWORD, address="10.2.0.1").status_code == 200


def test_right_passwords_are_never_throttled(account):
    for _ in range(25):
        response = sign_in(account.username, PASSWORD)
        assert response.status_code == 200 and response.json()["token"]


def test_a_forged_forwarded_for_header_does_not_dodge_the_throttle(account):
    for n in range(10):
        response = APIClient(REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}").post(
            "/api/v1/auth/token", {"username": account.username, "password": "guess"}
        )
        assert response.status_code == 400
    assert sign_in("someone-else", "guess", address="10.0.0.9").status_code == 429


def test_a_session_post_needs_its_csrf_token(member):
    title = TitleFactory()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(member.account)
    event = {
        "event_id": "5f0e6a80-0b1e-4a4c-9a43-3c0c3d0b5f01",
        "type": "thumb_up",
        "member": member.pk,
        "title": title.pk,
    }
    refused = browser.post("/api/v1/events", {"events": [event]})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not Interaction.objects.exists()
    browser.get("/api/v1/me")  # any page sets the cookie when asked; the admin login does
    token = Client().get("/admin/login/").cookies["csrftoken"].value
    browser.cookies["csrftoken"] = token
    accepted = browser.post("/api/v1/events", {"events": [event]}, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_retraining_is_staff_only(member, client_for):
    response = client_for(member.account).post("/api/v1/models/retrain")
    assert response.status_code == 403
    assert not RetrainRun.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members/{id}/homepage",
        "/api/v1/members/{id}/plays",
        "/api/v1/search?q=a&member={id}",
    ],
)
def test_another_accounts_member_is_not_found_anywhere(api, path):
    stranger = MemberFactory()
    response = api.get(path.format(id=stranger.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": f"No member {stranger.pk} on this account."}


@pytest.mark.parametrize(
    "path", ["/api/v1/me", "/api/v1/members/1/homepage", "/api/v1/titles", "/api/v1/models"]
)
def test_no_credentials_is_401(path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("path", ["/api/v1/nowhere", "/api/v1/titles/abc", "/no/such/page"])
def test_a_url_nobody_serves_is_a_json_404_without_the_url_patterns(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "api/v1/" in response.json()["detail"] and b"urlpatterns" not in response.content
    assert b"members/<id:member_id>" not in response.content


def test_a_crash_is_a_json_500_without_a_traceback(member, monkeypatch):
    def broken():
        raise RuntimeError("secret internals: SECRET_KEY=xyz")

    monkeypatch.setattr("api.views.catalog.title_list", broken)
    client = Client(raise_request_exception=False)
    client.force_login(member.account)
    response = client.get("/api/v1/titles")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("Server error.")
    assert b"secret internals" not in response.content and b"Traceback" not in response.content


def test_the_api_never_renders_html(api):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = api.get("/api/v1/titles/999999", HTTP_ACCEPT=browser)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    html_only = api.get("/api/v1/titles/999999", HTTP_ACCEPT="text/html")
    assert html_only.status_code == 406
    assert html_only["Content-Type"] == "application/json"
