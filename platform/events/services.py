"""Writes to the fact log."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.models import Title
from members.models import Member

from .models import Impression, Interaction, PageView


class InvalidEvents(Exception):
    """A batch with invalid events: `errors` maps event index -> field -> messages."""

    def __init__(self, errors: dict[str, dict[str, list[str]]]):
        super().__init__(f"{len(errors)} invalid event(s); nothing of the batch was stored.")
        self.errors = errors


NEEDS_PAGE = {Interaction.Type.IMPRESSION_SEEN}
NEEDS_WATCHED = {Interaction.Type.PLAY, Interaction.Type.SEARCH_PLAY}
NEEDS_QUERY = {Interaction.Type.SEARCH_PLAY}


@transaction.atomic
def page_record(
    *,
    member: Member,
    served_at: datetime,
    model_version_id: int | None,
    fallback: bool,
    fallback_reason: str,
    slots: Sequence[dict],
) -> PageView:
    """Log a rendered page and every impression on it, in one transaction.

    Each slot: row_key, row_index, position, title_id, policy, propensity, features.
    """
    page = PageView.objects.create(
        member=member,
        served_at=served_at,
        model_version_id=model_version_id,
        fallback=fallback,
        fallback_reason=fallback_reason,
    )
    Impression.objects.bulk_create(
        Impression(
            page=page,
            member=member,
            served_at=served_at,
            model_version_id=model_version_id,
            **slot,
        )
        for slot in slots
    )
    return page


def _check_event(event: dict, *, members: dict, titles: set, pages: dict) -> dict[str, list[str]]:
    """Errors of one event that need the database, by field."""
    errors: dict[str, list[str]] = {}
    kind = event["type"]
    if event["member"] not in members:
        errors["member"] = [f"Member {event['member']} is not a profile of this account."]
    if event["title"] not in titles:
        errors["title"] = [f"Unknown title id {event['title']}."]
    page_id = event.get("page_id")
    if page_id is None and kind in NEEDS_PAGE:
        errors["page_id"] = [f"A {kind} event needs the page_id of the page it was seen on."]
    elif page_id is not None and pages.get(page_id) != event["member"]:
        errors["page_id"] = [f"Page {page_id} was not served to member {event['member']}."]
    if kind in NEEDS_WATCHED and event.get("watched_seconds") is None:
        errors["watched_seconds"] = [f"A {kind} event needs watched_seconds."]
    if kind in NEEDS_QUERY and not event.get("query"):
        errors["query"] = [f"A {kind} event needs the search query."]
    return errors


@transaction.atomic
def events_ingest(*, account, events: Sequence[dict]) -> tuple[int, int]:
    """Store a batch of validated events all or nothing. Returns (stored, duplicates).

    A repeated event id, in the log already or twice in this batch, is stored once. Any
    invalid event rejects the whole batch with InvalidEvents naming its index and field. An
    event without `occurred_at` happened when it arrived.
    """
    now = timezone.now()
    events = [{"occurred_at": now, **event} for event in events]
    members = dict(Member.objects.filter(account=account).values_list("id", "account_id"))
    titles = set(
        Title.objects.filter(id__in={e["title"] for e in events}).values_list("id", flat=True)
    )
    page_ids = {e["page_id"] for e in events if e.get("page_id")}
    pages = dict(PageView.objects.filter(page_id__in=page_ids).values_list("page_id", "member_id"))
    errors = {}
    for index, event in enumerate(events):
        event_errors = _check_event(event, members=members, titles=titles, pages=pages)
        if event_errors:
            errors[str(index)] = event_errors
    if errors:
        raise InvalidEvents(errors)

    ids = [event["event_id"] for event in events]
    existing = set(Interaction.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
    fresh: dict[uuid.UUID, Interaction] = {}
    for event in events:
        if event["event_id"] in existing or event["event_id"] in fresh:
            continue
        fresh[event["event_id"]] = Interaction(
            event_id=event["event_id"],
            type=event["type"],
            member_id=event["member"],
            title_id=event["title"],
            page_id=event.get("page_id"),
            row_key=event.get("row_key") or "",
            position=event.get("position"),
            watched_seconds=event.get("watched_seconds"),
            query=event.get("query") or "",
            occurred_at=event["occurred_at"],
        )
    # A concurrent request may store the same id between our check and insert: ignore_conflicts
    # keeps "stored once" true, and the count below reports what this call actually added.
    before = Interaction.objects.filter(event_id__in=list(fresh)).count()
    Interaction.objects.bulk_create(fresh.values(), ignore_conflicts=True)
    stored = Interaction.objects.filter(event_id__in=list(fresh)).count() - before
    return stored, len(events) - stored
