"""Reads of members."""

from django.db.models import QuerySet

from .models import Member


class MemberNotFound(Exception):
    """No such member on this account (the API answers 404)."""


def member_list(*, account) -> QuerySet[Member]:
    return Member.objects.filter(account=account).order_by("id")


def member_get_for_account(*, member_id: int, account) -> Member:
    """The member, if it belongs to this account; else MemberNotFound. Another account's
    member is "not found" too, not "forbidden", so nobody learns which member ids exist."""
    try:
        return Member.objects.get(pk=member_id, account=account)
    except Member.DoesNotExist:
        raise MemberNotFound(f"No member {member_id} on this account.") from None
