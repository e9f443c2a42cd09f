import pytest
from django.core.exceptions import ValidationError

from members.models import Member
from members.services import account_create, member_create

pytestmark = pytest.mark.django_db


def test_an_account_holds_at_most_five_profiles():
    account = account_create(username="family", password="pw-123456")
    for name in ("A", "B", "C", "D", "Kids"):
        member_create(account=account, name=name, is_kids=name == "Kids")
    with pytest.raises(ValidationError, match="already has 5 profiles"):
        member_create(account=account, name="F")
    assert Member.objects.filter(account=account).count() == 5


def test_profile_names_are_unique_within_an_account():
    account = account_create(username="family", password="pw-123456")
    member_create(account=account, name="Ann")
    with pytest.raises(ValidationError, match="already has a profile named 'Ann'"):
        member_create(account=account, name="Ann")
    other = account_create(username="neighbours", password="pw-123456")
    assert member_create(account=other, name="Ann").name == "Ann"


def test_duplicate_username_is_refused():
    account_create(username="family", password="pw-123456")
    with pytest.raises(ValidationError, match="already exists"):
        account_create(username="family", password="other-pw")
