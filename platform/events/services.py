"""Writes to the fact log."""

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import orjson
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Title
from members.models import Member

from .models import Impression, Interaction, PageView


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


@transaction.atomic
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
    """Log a rendered page and every impression on it, in one transaction.

    Each slot: row_key, row_index, position, title_id, policy, propensity, features, and
    optionally the explorer's fields of Impression (explored, bandit_state_id, estimated,
    draws, bandit_inputs, artwork, artwork_propensity, artwork_policy, artwork_state_id).
    `slots` may come prepared (`impression_rows`), as a page served again from a plan does.
    `device` is the one the request came from (blank: unknown). The page's row-order policy
    and probability, and what the explorer saw (`exploration`, for off-policy evaluation),
    are stored on the page, with the online experiments that served it (`experiments`:
    experiment id -> arm), its build time in ms, and when its rows were computed if that
    was before `served_at` (`planned_at`: a page served from a plan, homepage.plans). On
    PostgreSQL the impressions go in with one COPY (a page holds 100-250 of them; see
    `ImpressionRows`), elsewhere with one multi-row INSERT.
    """
    rows = slots if isinstance(slots, ImpressionRows) else impression_rows(slots, copy=False)
    page = PageView.objects.create(
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
    if not rows:
        return page
    if connection.vendor == "postgresql":
        rows.copy(
            {
                "page_id": page.pk,
                "member_id": member.pk,
                "served_at": served_at,
                "model_version_id": model_version_id,
            }
        )
    else:
        Impression.objects.bulk_create(
            [
                Impression(
                    page=page,
                    member=member,
                    served_at=served_at,
                    model_version_id=model_version_id,
                    **slot,
                )
                for slot in rows.slots
            ]
        )
    return page


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"
_INTEGER_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallAutoField",
        "SmallIntegerField",
    }
)
PAGE_COLUMNS = ("page_id", "member_id", "served_at", "model_version_id")
"""The impression columns every row of a page shares: `page_record` writes them per page."""


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


def _json_text(value) -> str:
    # orjson: the same JSON value as the stdlib's json.dumps (PostgreSQL stores jsonb, not
    # the text), a tenth of the time; int keys become strings as json.dumps makes them
    return _copy_text(
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
    )


def _copy_writer(field) -> Callable[[object], str]:
    """How COPY's text format writes a value of `field` (NULL apart)."""
    kind = (
        field.target_field.get_internal_type() if field.is_relation else field.get_internal_type()
    )
    if kind in _INTEGER_TYPES:
        return lambda v: str(int(v))
    if kind == "FloatField":
        return lambda v: repr(float(v))
    if kind == "BooleanField":
        return lambda v: "t" if v else "f"
    if kind in ("CharField", "TextField"):
        return lambda v: _copy_text(str(v))
    if kind == "JSONField":
        return _json_text
    if kind == "UUIDField":
        return str
    if kind == "DateTimeField":
        return lambda v: field.get_db_prep_save(v, connection).isoformat()
    raise TypeError(f"Impression.{field.name} ({kind}): ImpressionRows cannot write it yet")


@functools.cache
def _impression_fields() -> tuple[tuple, tuple]:
    """Impression's concrete fields but its id: those a page shares (PAGE_COLUMNS' order),
    and the rest, in the model's order. Read once per process."""
    fields = {f.attname: f for f in Impression._meta.concrete_fields if not f.primary_key}
    return tuple(fields.pop(name) for name in PAGE_COLUMNS), tuple(fields.values())


@functools.cache
def _copy_statement() -> tuple[str, tuple]:
    """The impressions' COPY statement (the page's columns first) and the writers of the
    page's columns, made once per process rather than on every page."""
    shared, fields = _impression_fields()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in shared + fields)
    statement = f"COPY {quote(Impression._meta.db_table)} ({columns}) FROM STDIN"
    return statement, tuple((f.attname, _copy_writer(f)) for f in shared)


def impression_rows(slots: Sequence[dict], *, copy: bool = True) -> "ImpressionRows":
    """A page's slots, checked, ready for `page_record` (see `ImpressionRows`). Each slot is
    keyed by field name or attname like `Impression(**slot)`, without the page's own
    columns (PAGE_COLUMNS); a key that names no other field is refused. On PostgreSQL,
    `copy` converts them for COPY now and keeps only that text (a plan keeps a tenth of
    the memory the slot dicts take); otherwise they convert on the first write."""
    _, fields = _impression_fields()
    known = {f.attname for f in fields} | {f.name for f in fields}
    for slot in slots:
        if not known.issuperset(slot):
            unknown = sorted(set(slot) - known)
            raise TypeError(f"Impression got unexpected field(s) {', '.join(unknown)}")
    rows = ImpressionRows(tuple(slots))
    if copy and connection.vendor == "postgresql":
        return ImpressionRows((), tails=rows.copy_tails)
    return rows


@dataclass(frozen=True, eq=False)
class ImpressionRows:
    """A page's impressions, converted once and writable for any page: on PostgreSQL each
    row's text for COPY but the page's own columns, which lead every row (`PAGE_COLUMNS`).
    The same rows, columns and constraints as `bulk_create`, without an INSERT of some 2,000
    parameters or a model instance and a field adaptation per value (the homepage's largest
    write and, at 136 slots, its largest cost in Python; docs/benchmarks.md, "Load"); a page
    served again from a plan (homepage.plans) writes the rows its plan converted. The
    columns are the model's own concrete fields; a field missing from a slot takes its
    default, and a field of a type `_copy_writer` does not know fails loudly rather than
    being written wrong."""

    slots: tuple[dict, ...]
    tails: tuple[str, ...] | None = None  # converted already: `slots` is left empty

    def __len__(self) -> int:
        return len(self.slots) if self.tails is None else len(self.tails)

    @cached_property
    def copy_tails(self) -> tuple[str, ...]:
        """Each slot's COPY text after the page's columns (a tab first)."""
        if self.tails is not None:
            return self.tails
        _, fields = _impression_fields()
        writers = [
            (f.attname, f.name, f.get_default(), _copy_writer(f), f.is_relation) for f in fields
        ]
        tails = []
        for slot in self.slots:
            cells = [""]
            for attname, name, default, write, relation in writers:
                if attname in slot:
                    value = slot[attname]
                elif name in slot:
                    value = slot[name]
                    value = value.pk if relation and value is not None else value
                else:
                    value = default
                cells.append(_COPY_NULL if value is None else write(value))
            tails.append("\t".join(cells))
        return tuple(tails)

    def copy(self, page: dict) -> None:
        """COPY the rows into the log for the page whose PAGE_COLUMNS values `page` holds."""
        statement, writers = _copy_statement()
        head = "\t".join(
            _COPY_NULL if page[name] is None else write(page[name]) for name, write in writers
        )
        with connection.cursor() as cursor:
            with cursor.cursor.copy(statement) as copy:
                copy.write("".join(f"{head}{tail}\n" for tail in self.copy_tails))


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
