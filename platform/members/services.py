"""Writes for accounts, their member profiles and each profile's My List."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from catalog.models import KIDS_RATINGS, Title

from .models import MAX_MEMBERS_PER_ACCOUNT, MAX_MY_LIST, Member, MyListEntry

User = get_user_model()


def account_create(*, username: str, password: str, is_staff: bool = False) -> "User":
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"Account {username!r} already exists."})
    return User.objects.create_user(username=username, password=password, is_staff=is_staff)


@transaction.atomic
def demo_account_ensure(
    *, username: str, password: str, profiles: list[tuple[str, bool]]
) -> "User":
    """The demo's staff account. Created with `profiles` (name, is_kids) if it does not exist.
    If a simulated world brought it already (so its profiles have histories of their own), it
    is made staff and keeps its profiles; `password` must then be the world's, because the
    simulator logs in with that one."""
    account = User.objects.filter(username=username).first()
    if account is None:
        account = account_create(username=username, password=password, is_staff=True)
        for name, is_kids in profiles:
            member_create(account=account, name=name, is_kids=is_kids)
        return account
    if not account.check_password(password):
        raise ValidationError(
            f"Account {username!r} exists with another password; the demo password must be "
            "the one in the world's members.json."
        )
    if not account.is_staff:
        account.is_staff = True
        account.save(update_fields=["is_staff"])
    return account


def _name_checked(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A profile needs a name."})
    limit = Member._meta.get_field("name").max_length
    if len(name) > limit:
        raise ValidationError({"name": f"A profile name has at most {limit} characters."})
    return name


@transaction.atomic
def member_create(*, account: "User", name: str, is_kids: bool = False) -> Member:
    """Add a profile; an account holds at most five, with distinct names."""
    name = _name_checked(name)
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


def member_rename(*, member: Member, name: str) -> Member:
    """Give a profile another name, still unique within its account."""
    name = _name_checked(name)
    if name == member.name:
        return member
    taken = Member.objects.filter(account_id=member.account_id, name=name).exclude(pk=member.pk)
    if taken.exists():
        raise ValidationError({"name": f"Account already has a profile named {name!r}."})
    member.name = name
    try:
        with transaction.atomic():
            member.save(update_fields=["name"])
    except IntegrityError:  # a concurrent rename took the name between check and save
        raise ValidationError({"name": f"Account already has a profile named {name!r}."}) from None
    return member


@transaction.atomic
def member_delete(*, member: Member) -> None:
    """Delete a profile; an account keeps at least one.

    A profile nothing refers to is deleted outright. One the fact log refers to (its pages,
    impressions and events are append-only and keep training the models) leaves its account
    instead: its name is scrubbed, its My List emptied, and no account can reach it again, so
    every account-scoped read and write (homepage, plays, events) treats it as unknown.
    """
    account = User.objects.select_for_update().get(pk=member.account_id)
    if Member.objects.filter(account=account).count() <= 1:
        raise ValidationError(
            f"{member.name!r} is the only profile of {account.username!r}; an account keeps "
            "at least one."
        )
    try:
        with transaction.atomic():
            member.delete()
    except ProtectedError:
        MyListEntry.objects.filter(member=member).delete()
        Member.objects.filter(pk=member.pk).update(
            account=None, name=f"deleted profile {member.pk}", deleted_at=timezone.now()
        )


def my_list_add(*, member: Member, title_id: int) -> tuple[MyListEntry, bool]:
    """Put a title on the member's list; (entry, created). Adding it again changes nothing.
    A kids profile may only save kids titles, as its homepage and search only show those."""
    title = Title.objects.filter(pk=title_id, added_at__lte=timezone.now()).first()
    if title is None:
        raise ValidationError({"title": f"Unknown title id {title_id}."})
    if member.is_kids and title.maturity_rating not in KIDS_RATINGS:
        raise ValidationError(
            {"title": f"{title.name!r} is rated {title.maturity_rating}, not for a kids profile."}
        )
    existing = MyListEntry.objects.filter(member=member, title=title).first()
    if existing is not None:
        return existing, False
    if MyListEntry.objects.filter(member=member).count() >= MAX_MY_LIST:
        raise ValidationError(
            f"My List holds at most {MAX_MY_LIST} titles; remove one before adding another."
        )
    try:
        with transaction.atomic():
            return MyListEntry.objects.create(member=member, title=title), True
    except IntegrityError:  # added by a concurrent request
        return MyListEntry.objects.get(member=member, title=title), False


class NotOnMyList(Exception):
    """The title is not on the member's list (the API answers 404)."""


def my_list_remove(*, member: Member, title_id: int) -> None:
    deleted, _ = MyListEntry.objects.filter(member=member, title_id=title_id).delete()
    if not deleted:
        raise NotOnMyList(f"Title {title_id} is not on {member.name}'s list.")


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
