"""Writes for accounts and their member profiles."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import MAX_MEMBERS_PER_ACCOUNT, Member

User = get_user_model()


def account_create(*, username: str, password: str, is_staff: bool = False) -> "User":
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"Account {username!r} already exists."})
    return User.objects.create_user(username=username, password=password, is_staff=is_staff)


@transaction.atomic
def member_create(*, account: "User", name: str, is_kids: bool = False) -> Member:
    """Add a profile; an account holds at most five, with distinct names."""
    # Lock the account row so two concurrent creates cannot both pass the limit check.
    User.objects.select_for_update().get(pk=account.pk)
    if Member.objects.filter(account=account).count() >= MAX_MEMBERS_PER_ACCOUNT:
        raise ValidationError(
            f"Account {account.username!r} already has {MAX_MEMBERS_PER_ACCOUNT} profiles, "
            "the most an account may hold."
        )
    if Member.objects.filter(account=account, name=name).exists():
        raise ValidationError({"name": f"Account already has a profile named {name!r}."})
    return Member.objects.create(account=account, name=name, is_kids=is_kids)


@transaction.atomic
def accounts_import(*, accounts: list[dict]) -> tuple[int, int]:
    """Create accounts and their profiles from a members file, all or nothing; accounts that
    exist already are left as they are. Returns (accounts created, members created)."""
    n_accounts = n_members = 0
    for index, raw in enumerate(accounts):
        try:
            username, password, profiles = raw["username"], raw["password"], raw["members"]
        except KeyError as exc:
            raise ValidationError(f"Account #{index}: missing {exc.args[0]!r}.") from None
        if User.objects.filter(username=username).exists():
            continue
        account = account_create(username=username, password=password)
        n_accounts += 1
        for profile in profiles:
            member_create(
                account=account, name=profile["name"], is_kids=bool(profile.get("is_kids"))
            )
            n_members += 1
    return n_accounts, n_members
