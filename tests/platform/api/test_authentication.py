"""Token authentication reads the token and its account in one query of plain SQL
(api.authentication), and the member in another (members.selectors): the objects it gives
are the ORM's, field for field and type for type, and it answers what DRF answers."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api.authentication import account_for_token
from members.selectors import MemberNotFound, member_get_for_account
from tests.factories import AccountFactory, MemberFactory

pytestmark = pytest.mark.django_db


def fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def typed(values: dict) -> dict:
    return {name: (type(value), value) for name, value in values.items()}


def test_the_account_and_token_are_the_orms_field_for_field():
    account = AccountFactory(first_name="Ann", email="ann@example.com")
    account.last_login = timezone.now()
    account.save()
    token = Token.objects.create(user=account)
    found, found_token = account_for_token(token.key)
    stored = get_user_model().objects.get(pk=account.pk)
    assert typed(fields(found)) == typed(fields(stored))
    assert typed(fields(found_token)) == typed(fields(Token.objects.get(pk=token.key)))
    assert found_token.user is found and not found._state.adding
    assert account_for_token("0" * 40) is None


def test_the_member_is_the_orms_field_for_field():
    member = MemberFactory(is_kids=True)
    member.deleted_at = None
    found = member_get_for_account(member_id=member.pk, account=member.account)
    stored = type(member).objects.get(pk=member.pk)
    assert typed(fields(found)) == typed(fields(stored))
    assert found.created_at.tzinfo is not None
    with pytest.raises(MemberNotFound):
        member_get_for_account(member_id=member.pk, account=AccountFactory())


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_page_reads_token_account_and_member_in_two_queries(member):
    token = Token.objects.create(user=member.account)
    client = client_with(token.key)
    client.get(f"/api/v1/members/{member.pk}/plays")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/members/{member.pk}/plays")
    assert response.status_code == 200
    reads = [q["sql"] for q in queries.captured_queries if "authtoken_token" in q["sql"]]
    assert len(reads) == 1 and "auth_user" in reads[0]  # token and account together


@pytest.mark.parametrize(
    ("key", "active", "detail"),
    [
        ("f" * 40, True, "Invalid token."),
        ("f\x00" * 20, True, "Invalid token."),
        (None, False, "User inactive or deleted."),
    ],
)
def test_it_answers_what_drf_answers(member, key, active, detail):
    token = Token.objects.create(user=member.account)
    get_user_model().objects.filter(pk=member.account_id).update(is_active=active)
    response = client_with(key or token.key).get(f"/api/v1/members/{member.pk}/homepage")
    assert response.status_code == 401
    assert response.json()["detail"] == detail
