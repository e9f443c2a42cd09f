"""Writes to the fact log."""

import functools
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.models import Title
from members.models import Member

from .models import SLOT_FIELDS, SLOTS_PER_RECORD, Interaction, PageImpressions, PageView


class InvalidEvents(Exception):
    """A batch with invalid events: `errors` maps event index -> field -> messages."""

    def __init__(self, errors: dict[str, dict[str, list[str]]]):
        super().__init__(f"{len(errors)} invalid event(s); nothing of the batch was stored.")
        self.errors = errors


class ConflictingEvents(Exception):
    """A batch reusing event ids for other events (the API answers 409): `errors` maps event
    index -> "event_id" -> messages. Nothing of the batch is stored."""

    def __init__(self, errors: dict[str, dict[str, list[str]]]):
        super().__init__(f"{len(errors)} event id(s) already name another event.")
        self.errors = errors


NEEDS_PAGE = {Interaction.Type.IMPRESSION_SEEN}
NEEDS_WATCHED = {Interaction.Type.PLAY, Interaction.Type.SEARCH_PLAY}
NEEDS_QUERY = {Interaction.Type.SEARCH_PLAY}
"""Fields each event type requires beyond the common ones (the OpenAPI schema states them)."""

INGEST_LOCK_KEY = 0x48504C45  # "HPLE"; modeling.locks owns HPLR and HPLS

# What a replay is compared on: the stored field, and the event key it comes from.
FACT_FIELDS = {
    "type": "type",
    "member_id": "member",
    "title_id": "title",
    "page_id": "page_id",
    "row_key": "row_key",
    "position": "position",
    "watched_seconds": "watched_seconds",
    "query": "query",
    "device": "device",
    "occurred_at": "occurred_at",
}


def page_record(
    *,
    member: Member,
    served_at: datetime,
    model_version_id: int | None,
    fallback: bool,
    fallback_reason: str,
    slots: "Sequence[dict] | ImpressionRows",
    page_id: uuid.UUID | None = None,
    device: str = "",
    row_order_policy: str = "",
    row_order_state_id: int | None = None,
    row_order_probability: float = 1.0,
    exploration: dict | None = None,
    experiments: dict[str, str] | None = None,
    build_ms: float | None = None,
    planned_at: datetime | None = None,
) -> PageView:
    """Log a rendered page and every impression on it, all or nothing.

    Each slot: row_key, row_index, position, title_id, policy, propensity, features, and
    optionally the explorer's fields of Impression (explored, bandit_state_id, estimated,
    draws, bandit_inputs, artwork, artwork_propensity, artwork_policy, artwork_state_id).
    `slots` may come prepared (`impression_rows`), as a page served again from a plan does.
    `device` is the one the request came from (blank: unknown). The page's row-order policy
    and probability, and what the explorer saw (`exploration`, for off-policy evaluation),
    are stored on the page, with the online experiments that served it (`experiments`:
    experiment id -> arm), its build time in ms, and when its rows were computed if that
    was before `served_at` (`planned_at`: a page served from a plan, homepage.plans). The
    impressions (a page holds 100-250) go in as the page's one compact record
    (`PageImpressions`; see `ImpressionRows`): on PostgreSQL in the same statement as the
    page's row (`ImpressionRows.write_with`), elsewhere in one transaction with it.
    """
    rows = slots if isinstance(slots, ImpressionRows) else impression_rows(slots)
    page = PageView(
        page_id=page_id or uuid.uuid4(),
        member=member,
        served_at=served_at,
        model_version_id=model_version_id,
        fallback=fallback,
        fallback_reason=fallback_reason,
        device=device,
        row_order_policy=row_order_policy,
        row_order_state_id=row_order_state_id,
        row_order_probability=row_order_probability,
        exploration=exploration or {},
        experiments=experiments or {},
        build_ms=build_ms,
        planned_at=planned_at,
    )
    if rows and connection.vendor == "postgresql":
        # One statement writes both rows, so a request in autocommit needs no transaction
        # of its own; inside one, a savepoint keeps a refused page from aborting it.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            rows.write_with(page)
        return page
    with transaction.atomic():
        page.save(force_insert=True)
        if rows:
            rows.write(page.pk)
    return page


def _integer(value) -> int:
    if isinstance(value, bool) or int(value) != value:
        raise TypeError(f"{value!r} is not an integer")
    return int(value)


def _text(limit: int) -> Callable[[object], str]:
    def text(value) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not a string")
        if len(value) > limit:
            raise ValueError(f"{value[:50]!r}... is longer than {limit} characters")
        return value

    return text


def _probability(value) -> float:
    p = float(value)
    if not 0 < p <= 1:  # also refuses NaN
        raise ValueError(f"{value!r} is not a probability in (0, 1]")
    return p


def _json_value(value):
    return value  # encoded with the rest of the slot (orjson; numpy values as numbers)


# How each of SLOT_FIELDS is checked and converted, and its default (None: required).
_SLOT_CELLS: dict[str, tuple[Callable, object]] = {
    "row_key": (_text(40), None),
    "row_index": (_integer, None),
    "position": (_integer, None),
    "title_id": (_integer, None),
    "policy": (_text(60), None),
    "propensity": (_probability, None),
    "features": (_json_value, {}),
    "explored": (bool, False),
    "bandit_state_id": (_integer, None),
    "estimated": (bool, False),
    "draws": (_integer, 0),
    "bandit_inputs": (_json_value, {}),
    "artwork": (_integer, 0),
    "artwork_propensity": (_probability, 1.0),
    "artwork_policy": (_text(60), ""),
    "artwork_state_id": (_integer, None),
}
_NULLABLE = frozenset({"bandit_state_id", "artwork_state_id"})
_RELATIONS = {
    "title": "title_id",
    "bandit_state": "bandit_state_id",
    "artwork_state": "artwork_state_id",
}
assert tuple(_SLOT_CELLS) == SLOT_FIELDS


def impression_rows(slots: Sequence[dict]) -> "ImpressionRows":
    """A page's slots, checked and encoded once, ready for `page_record` (see
    `ImpressionRows`). Each slot is keyed like `Impression(**slot)`: by the names of
    SLOT_FIELDS, a relation also by its field name (`title`: a Title), without the page's
    own columns. A key that names no field, a missing required value, a value of the wrong
    kind, a propensity outside (0, 1], a slot or title twice on the page, or more slots
    than a record holds is refused (IntegrityError, naming the slot and field): what the
    log's table constraints refused when each impression was a row of its own."""
    if len(slots) > SLOTS_PER_RECORD:
        raise IntegrityError(
            f"A page holds at most {SLOTS_PER_RECORD} impressions; this one has {len(slots)}."
        )
    cells = []
    places, titles = set(), []
    for n, slot in enumerate(slots):
        values = dict(slot)
        for name, attname in _RELATIONS.items():
            if name in values:
                value = values.pop(name)
                values[attname] = value.pk if hasattr(value, "pk") else value
        unknown = sorted(set(values) - set(_SLOT_CELLS))
        if unknown:
            raise TypeError(f"Impression got unexpected field(s) {', '.join(unknown)}")
        row = []
        for name, (convert, default) in _SLOT_CELLS.items():
            value = values.get(name, default)
            if value is None:
                if name in _NULLABLE:
                    row.append(None)
                    continue
                raise IntegrityError(f"Impression {n} of the page has no {name}.")
            try:
                row.append(convert(value))
            except (TypeError, ValueError) as exc:
                raise IntegrityError(f"Impression {n} of the page: {name}: {exc}.") from None
        place = (row[1], row[2])
        if place in places:
            raise IntegrityError(
                f"Impression {n} of the page: row {place[0]} position {place[1]} is shown twice "
                "(impression_slot_unique)."
            )
        places.add(place)
        titles.append(row[3])
        cells.append(row)
    if len(set(titles)) < len(titles):
        twice = sorted({t for t in titles if titles.count(t) > 1})
        raise IntegrityError(
            f"Title(s) {twice} shown twice on the page (impression_title_once_a_page)."
        )
    text = orjson.dumps(cells, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return ImpressionRows(text.decode(), tuple(titles))


@dataclass(frozen=True, eq=False)
class ImpressionRows:
    """A page's impressions, checked and encoded as the one JSON array its record holds
    (`PageImpressions.slots`), writable for any page: a page served again from a plan
    (homepage.plans) writes the array its plan encoded. One row a page, where each
    impression was a row of its own with five indexes and a key check (docs/benchmarks.md,
    "A page's compact record")."""

    text: str
    titles: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.titles)

    @functools.cached_property
    def titles_array(self) -> str:
        """The titles as PostgreSQL's text of an array, made once for every page written
        from this record: psycopg adapts a list element by element, a tenth of a page's
        CPU in the web process at 135 titles."""
        return "{" + ",".join(map(str, self.titles)) + "}"

    def write_with(self, page: PageView) -> None:
        """PostgreSQL: write the new, unsaved `page` and its record in one statement, which
        writes neither unless every title is in the catalogue (IntegrityError if one is
        not). A page from a plan costs this one round trip to the database, where a
        transaction of its own took four (docs/benchmarks.md, "One statement a page")."""
        fields = PageView._meta.local_concrete_fields
        values = [f.get_db_prep_save(f.pre_save(page, True), connection) for f in fields]
        quote = connection.ops.quote_name
        table, titles = PageImpressions._meta.db_table, Title._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH page AS (INSERT INTO {quote(PageView._meta.db_table)} "
                f"({', '.join(quote(f.column) for f in fields)}) "
                f"SELECT {', '.join(['%s'] * len(fields))} "
                f"WHERE (SELECT count(*) FROM {titles} WHERE id = ANY(%s::bigint[])) = %s "
                f"RETURNING {quote(PageView._meta.pk.column)}) "
                f"INSERT INTO {table} (page_id, slot_count, slots) "
                f"SELECT {quote(PageView._meta.pk.column)}, %s, %s FROM page",
                [*values, self.titles_array, len(self.titles), len(self.titles), self.text],
            )
            if cursor.rowcount != 1:
                self._refuse()
        page._state.adding, page._state.db = False, connection.alias

    def write(self, page_id: uuid.UUID) -> None:
        """Write the record of the page `page_id`, in one statement that also checks that
        every title is in the catalogue (IntegrityError, and nothing of the record written,
        if one is not)."""
        table, titles = PageImpressions._meta.db_table, Title._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"INSERT INTO {table} (page_id, slot_count, slots) SELECT %s, %s, %s "
                    f"WHERE (SELECT count(*) FROM {titles} WHERE id = ANY(%s::bigint[])) = %s",
                    [page_id, len(self.titles), self.text, self.titles_array, len(self.titles)],
                )
            else:
                marks = ", ".join(["%s"] * len(self.titles))
                cursor.execute(
                    f"INSERT INTO {table} (page_id, slot_count, slots) SELECT %s, %s, %s "
                    f"WHERE (SELECT count(*) FROM {titles} WHERE id IN ({marks})) = %s",
                    [page_id.hex, len(self.titles), self.text, *self.titles, len(self.titles)],
                )
            if cursor.rowcount != 1:
                self._refuse()

    def _refuse(self):
        known = set(Title.objects.filter(pk__in=self.titles).values_list("pk", flat=True))
        missing = sorted(set(self.titles) - known)
        raise IntegrityError(
            f"Impressions of title(s) {missing}, which the catalogue does not hold; "
            "nothing of the page was stored."
        )


@dataclass(frozen=True)
class _TitleFacts:
    runtime_seconds: int
    added_at: datetime


def _check_event(
    event: dict, *, members: dict, titles: dict[int, _TitleFacts], pages: dict
) -> dict[str, list[str]]:
    """Errors of one event that need the database, by field."""
    errors: dict[str, list[str]] = {}
    kind = event["type"]
    if event["member"] not in members:
        errors["member"] = [f"Member {event['member']} is not a profile of this account."]
    title = titles.get(event["title"])
    if title is None:
        errors["title"] = [f"Unknown title id {event['title']}."]
    elif event["occurred_at"] < title.added_at:
        errors["occurred_at"] = [
            f"{event['occurred_at'].isoformat()} is before title {event['title']} entered the "
            f"catalogue ({title.added_at.isoformat()}); nobody could watch it then."
        ]
    page_id = event.get("page_id")
    if page_id is None and kind in NEEDS_PAGE:
        errors["page_id"] = [f"A {kind} event needs the page_id of the page it was seen on."]
    elif page_id is not None and pages.get(page_id, (None,))[0] != event["member"]:
        errors["page_id"] = [f"Page {page_id} was not served to member {event['member']}."]
    watched = event.get("watched_seconds")
    if kind in NEEDS_WATCHED and watched is None:
        errors["watched_seconds"] = [f"A {kind} event needs watched_seconds."]
    elif watched is not None and title is not None and watched > title.runtime_seconds:
        errors["watched_seconds"] = [
            f"{watched} s is longer than title {event['title']} runs ({title.runtime_seconds} s, "
            "a movie or one episode); report one play per sitting of a movie or per episode."
        ]
    if kind in NEEDS_QUERY and not event.get("query"):
        errors["query"] = [f"A {kind} event needs the search query."]
    return errors


def _fact(event: dict) -> dict:
    """An event as the log stores it, keyed like the model's fields."""
    fact = {field: event.get(key) for field, key in FACT_FIELDS.items()}
    fact["row_key"], fact["query"] = fact["row_key"] or "", fact["query"] or ""
    fact["device"] = fact["device"] or ""
    return fact


def _replay_mismatch(event: dict, stored: dict) -> list[str]:
    """Fields where a replayed event differs from the one stored under its id. An event that
    left `occurred_at` to the server is not compared on it: its retry arrives later."""
    fact = _fact(event)
    return [
        FACT_FIELDS[field]
        for field, value in fact.items()
        if (field != "occurred_at" or event["time_sent"]) and stored[field] != value
    ]


@transaction.atomic
def events_ingest(*, account, events: Sequence[dict]) -> tuple[int, int]:
    """Store a batch of validated events all or nothing. Returns (stored, duplicates).

    An event id is the client's idempotency key, scoped to its account: a repeat of the same
    event, in the log already or twice in this batch, is stored once, and another account may
    use the same id for its own event. An id this account already used for a *different* event
    rejects the batch with ConflictingEvents (409). Any invalid event rejects the whole batch
    with InvalidEvents naming its index and field. An event without `occurred_at` happened
    when it arrived, and one without `device` on the device of the page it names (unknown,
    blank, without a page).
    """
    now = timezone.now()
    events = [{"occurred_at": now, "time_sent": "occurred_at" in e, **e} for e in events]
    members = dict(Member.objects.filter(account=account).values_list("id", "account_id"))
    titles = {
        pk: _TitleFacts(runtime * 60, added_at)
        for pk, runtime, added_at in Title.objects.filter(
            id__in={e["title"] for e in events}
        ).values_list("id", "runtime_minutes", "added_at")
    }
    page_ids = {e["page_id"] for e in events if e.get("page_id")}
    pages = {
        page_id: (member_id, device)
        for page_id, member_id, device in PageView.objects.filter(page_id__in=page_ids).values_list(
            "page_id", "member_id", "device"
        )
    }
    errors = {}
    for index, event in enumerate(events):
        event_errors = _check_event(event, members=members, titles=titles, pages=pages)
        if event_errors:
            errors[str(index)] = event_errors
    if errors:
        raise InvalidEvents(errors)
    for event in events:
        if not event.get("device") and event.get("page_id") is not None:
            event["device"] = pages[event["page_id"]][1]

    if connection.vendor == "postgresql":
        # Batches of one account are stored one at a time, so that `before` below holds
        # every id a concurrent batch stored: without it, two web processes storing the same
        # batch at once both stored it once, but both answered "stored" (found by
        # tests/e2e/test_scale_out.py). SQLite already runs one write transaction at a time.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [INGEST_LOCK_KEY, account.pk % 2**31]
            )
    ids = {event["event_id"] for event in events}
    logged = Interaction.objects.filter(member__account=account, event_id__in=ids)
    before = set(logged.values_list("event_id", flat=True))
    fresh: dict[uuid.UUID, Interaction] = {}
    for event in events:
        if event["event_id"] not in before and event["event_id"] not in fresh:
            fresh[event["event_id"]] = Interaction(event_id=event["event_id"], **_fact(event))
    # A concurrent request may store the same id between our check and insert: ignore_conflicts
    # keeps "stored once" true, and reading back what the log now holds under each id catches
    # both a replay that differs and such a race.
    Interaction.objects.bulk_create(fresh.values(), ignore_conflicts=True)
    stored_facts = {row["event_id"]: row for row in logged.values("event_id", *FACT_FIELDS)}
    conflicts = {}
    for index, event in enumerate(events):
        differs = _replay_mismatch(event, stored_facts[event["event_id"]])
        if differs:
            conflicts[str(index)] = {
                "event_id": [
                    f"Event id {event['event_id']} already names another event of this account "
                    f"(it differs in {', '.join(differs)}); give a new event a new id."
                ]
            }
    if conflicts:
        raise ConflictingEvents(conflicts)
    stored = len(stored_facts) - len(before)
    return stored, len(events) - stored
