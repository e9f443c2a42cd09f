"""Reads of members and their lists."""

import functools
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from .models import Member, MyListEntry


class MemberNotFound(Exception):
    """No such member on this account (the API answers 404)."""


def member_list(*, account) -> QuerySet[Member]:
    return Member.objects.filter(account=account).order_by("id")


class ModelRows:
    """Instances of `model` read from its concrete columns in a query of plain SQL, each value
    converted as the ORM's own query converts it (SQLite's times come back as text). The ORM
    spent 0.55-0.85 ms of CPU on each of these one-row reads, mostly building their SQL, a
    third as long as plain SQL (scripts/bench_reads.py); the two reads every page makes, the token's account and the
    member (api.authentication), are this instead. The SQL is the caller's, made once per
    database vendor: `columns` and `table` quote every name, which made for each query took
    a tenth of its time."""

    def __init__(self, model, alias: str):
        self.model, self.alias = model, alias
        self.fields = model._meta.concrete_fields
        self._converters: dict[str, list] = {}

    def columns(self) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{quote(self.alias)}.{quote(f.column)}" for f in self.fields)

    def table(self) -> str:
        quote = connection.ops.quote_name
        return f"{quote(self.model._meta.db_table)} AS {quote(self.alias)}"

    def build(self, values):
        converters = self._converters.get(connection.vendor)
        if converters is None:
            converters = self._converters[connection.vendor] = [
                (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
                for col in (field.get_col(self.alias) for field in self.fields)
            ]
        converted = []
        for value, (col, each) in zip(values, converters, strict=True):
            for convert in each:
                value = convert(value, col, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, None, converted)


_members = ModelRows(Member, "m")


@functools.cache
def _member_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    return (
        f"SELECT {_members.columns()} FROM {_members.table()} WHERE "
        f"{quote('m')}.{quote('id')} = %s AND {quote('m')}.{quote('account_id')} = %s"
    )


def member_get_for_account(*, member_id: int, account) -> Member:
    """The member, if it belongs to this account; else MemberNotFound. Another account's
    member is "not found" too, not "forbidden", so nobody learns which member ids exist. A
    deleted profile belongs to no account, so it is not found either."""
    with connection.cursor() as cursor:
        cursor.execute(_member_sql(connection.vendor), [int(member_id), account.pk])
        row = cursor.fetchone()
    if row is None:
        raise MemberNotFound(f"No member {member_id} on this account.")
    return _members.build(row)


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
