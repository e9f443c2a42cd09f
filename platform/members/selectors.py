"""Reads of members."""

from django.db.models import QuerySet
from django.http import Http404

from .models import Member


def member_list(*, account) -> QuerySet[Member]:
    return Member.objects.filter(account=account).order_by("id")


def member_get_for_account(*, member_id: int, account) -> Member:
    """The member, if it belongs to this account. Another account's member is a 404, not a 403,
    so the API does not reveal which member ids exist."""
    try:
        return Member.objects.get(pk=member_id, account=account)
    except Member.DoesNotExist:
        raise Http404(f"No member {member_id} on this account.") from None
