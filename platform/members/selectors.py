"""Reads of members and their lists."""

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from .models import Member, MyListEntry


class MemberNotFound(Exception):
    """No such member on this account (the API answers 404)."""


def member_list(*, account) -> QuerySet[Member]:
    return Member.objects.filter(account=account).order_by("id")


def member_get_for_account(*, member_id: int, account) -> Member:
    """The member, if it belongs to this account; else MemberNotFound. Another account's
    member is "not found" too, not "forbidden", so nobody learns which member ids exist. A
    deleted profile belongs to no account, so it is not found either."""
    try:
        return Member.objects.get(pk=member_id, account=account)
    except Member.DoesNotExist:
        raise MemberNotFound(f"No member {member_id} on this account.") from None


def my_list_entries(*, member: Member) -> list[MyListEntry]:
    """The member's list, most recently added first, with each title and its genres."""
    return list(
        MyListEntry.objects.filter(member=member)
        .select_related("title")
        .prefetch_related("title__genres")
        .order_by("-added_at", "-id")
    )


def my_list_stamp_sql() -> tuple[str, int]:
    """A query of one row, a member's list entries' number and newest id, and its number
    of columns; its one parameter is the member's id (one text for every member, which the
    database prepares once). Adding a title makes a new entry (a new id), removing one
    deletes it (one fewer), so any edit of the list changes it."""
    quote = connection.ops.quote_name
    table = quote(MyListEntry._meta.db_table)
    return (
        f"SELECT COUNT(*), MAX({quote('id')}) FROM {table} WHERE {quote('member_id')} = %s",
        2,
    )


def my_list_title_ids(*, member_id: int, at: datetime) -> list[int]:
    """Ids of the titles on the member's list at `at`, most recently added first (one query,
    for page construction, which has the titles already)."""
    return list(
        MyListEntry.objects.filter(member_id=member_id, added_at__lte=at)
        .order_by("-added_at", "-id")
        .values_list("title_id", flat=True)
    )
