"""The fact log: append-only records of what was served and what members did.

Nothing here is ever updated or deleted by the application. Training reads these facts
"as of" a time, and the features recorded with each impression are the ones serving used.
"""

import uuid

import orjson
from django.db import models


class AppendOnlyModel(models.Model):
    """Refuses updates: a fact, once logged, is never rewritten."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} is append-only; it cannot be updated.")
        super().save(*args, **kwargs)


class Device(models.TextChoices):
    """The device a request or an event comes from: the documented set the API accepts
    (docs/api.md). Blank: unknown (the client did not say)."""

    TV = "tv", "TV"
    PHONE = "phone", "Phone"
    TABLET = "tablet", "Tablet"
    DESKTOP = "desktop", "Desktop"


class PageView(AppendOnlyModel):
    """One rendered homepage."""

    page_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="pages")
    served_at = models.DateTimeField(db_index=True)
    logged_at = models.DateTimeField(
        auto_now_add=True, help_text="When the page was written (served_at is the page's clock)."
    )
    model_version = models.ForeignKey(
        "modeling.ModelVersion", null=True, blank=True, on_delete=models.PROTECT
    )
    fallback = models.BooleanField(default=False)
    fallback_reason = models.CharField(max_length=300, blank=True)
    device = models.CharField(
        max_length=10,
        choices=Device.choices,
        blank=True,
        help_text="The device the request came from (blank: unknown); models may read it.",
    )
    row_order_policy = models.CharField(
        max_length=60, blank=True, help_text="The row-order explorer; blank: the builders' order."
    )
    row_order_state = models.ForeignKey(
        "exploration.BanditState",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The row-order policy's state it chose from (none: a fresh policy).",
    )
    row_order_probability = models.FloatField(
        default=1.0, help_text="Probability of the chosen row order (1: deterministic)."
    )
    exploration = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the explorer saw and chose on this page, for off-policy evaluation "
        "(exploration.page: eligible candidates with scores, choices, propensities, contexts).",
    )
    experiments = models.JSONField(
        default=dict,
        blank=True,
        help_text="The online experiments that served this page: experiment id (a string, "
        "as JSON keys are) -> arm name; empty: production only (rollouts).",
    )
    build_ms = models.FloatField(
        null=True,
        blank=True,
        help_text="Wall-clock milliseconds the page took to build, before it was written "
        "(the experiments' latency guardrail); null on pages logged before it was measured.",
    )
    planned_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the page's rows, scores and features were computed, if before "
        "served_at: a page served from its member's plan (homepage.plans); null: computed "
        "for this page, at served_at.",
    )

    class Meta:
        ordering = ["-served_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(row_order_probability__gt=0)
                & models.Q(row_order_probability__lte=1),
                name="page_row_order_probability_in_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"page {self.page_id} for member {self.member_id}"


class SlotsField(models.TextField):
    """A page's slots as one JSON array, stored as its text: PostgreSQL's `json` type (kept
    as written, so a write costs a check of the text rather than jsonb's conversion; lz4 by
    the migration where the server has it), text elsewhere. It reads back as Python values
    and writes a list, or JSON text already encoded (`events.services.ImpressionRows`)."""

    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value, expression, connection):
        return orjson.loads(value) if isinstance(value, str | bytes) else value

    def get_prep_value(self, value):
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bytes):
            return value.decode()
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()

    def to_python(self, value):
        return self.from_db_value(value, None, None)


class PageImpressions(AppendOnlyModel):
    """Every impression of one page, in one row: the page's compact record in the fact log.

    A page shows 100-250 titles. Logged as a row each, its record was the homepage's largest
    cost in the database: an index entry per row in five indexes, a key check per row, some
    76 kB of rows (docs/benchmarks.md, "Load"). Here a page writes one row: its slots as one
    JSON array, each slot a list of the values `SLOT_FIELDS` names, in the order the page
    wrote them (row 0, position 0 first). Readers go through `Impression`, the view that
    unnests these rows into one row per slot, so every fact an estimator reads (title,
    position, policy, propensity, the explorer's states, inputs and artwork) is still one
    column of one row. `id` orders the records as the log received them: the explorer's
    update counts impressions by it (`Impression.id`).
    """

    id = models.BigAutoField(primary_key=True)
    page = models.OneToOneField(PageView, on_delete=models.PROTECT, related_name="record")
    slot_count = models.PositiveSmallIntegerField(help_text="How many slots `slots` holds.")
    slots = SlotsField(help_text="The page's slots: one list of SLOT_FIELDS values each.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(slot_count__gt=0) & models.Q(slot_count__lte=1024),
                name="page_impressions_slot_count_1_1024",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slot_count} impressions of page {self.page_id}"


SLOT_FIELDS = (
    "row_key",
    "row_index",
    "position",
    "title_id",
    "policy",
    "propensity",
    "features",
    "explored",
    "bandit_state_id",
    "estimated",
    "draws",
    "bandit_inputs",
    "artwork",
    "artwork_propensity",
    "artwork_policy",
    "artwork_state_id",
)
"""What each slot of a `PageImpressions` row holds, in order: `Impression`'s own columns
(the page's, `page_id`, `member_id`, `served_at` and `model_version_id`, are its page's)."""

SLOTS_PER_RECORD = 1024
"""An impression's id is its record's id times this, plus its place in the record (from
0): ids follow the order the log received the pages, and a page holds at most this many."""


class ImpressionQuerySet(models.QuerySet):
    def ids(self, after: int, through: int | None = None) -> "ImpressionQuerySet":
        """Impressions with after < id <= through: also bounded on their records' ids,
        which the database can look up (an id is computed from its record's,
        `SLOTS_PER_RECORD`)."""
        qs = self.filter(id__gt=after, record__gte=after // SLOTS_PER_RECORD)
        if through is not None:
            qs = qs.filter(id__lte=through, record__lte=through // SLOTS_PER_RECORD)
        return qs


class Impression(models.Model):
    """One title shown in one slot of one page, with how and why it was chosen.

    **A view, read only.** Each row is one slot of a page's `PageImpressions` record, with
    that page's member, time and model version from its `PageView`: the database unnests
    the records (the view is made by migration events 0008). A page's impressions are
    written with the page, by `events.services.page_record`, which checks what the table's
    constraints used to: each propensity in (0, 1], each slot and each title once a page,
    every title in the catalogue. `record` is the id of the record a row comes from:
    filter on it (`Impression.objects.ids`) where an id range is meant, as the database
    cannot look a computed id up. The keys are declared to Django (joins, and `PROTECT`
    still refuses to delete a member, page, title, model version or state that impressions
    refer to) and are checked when a page is written.
    """

    id = models.BigIntegerField(primary_key=True)
    record = models.BigIntegerField(help_text="The PageImpressions row it comes from.")
    page = models.ForeignKey(
        PageView,
        on_delete=models.PROTECT,
        related_name="impressions",
        db_constraint=False,
        db_index=False,
    )
    member = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    served_at = models.DateTimeField()
    row_key = models.CharField(max_length=40)
    row_index = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()
    title = models.ForeignKey(
        "catalog.Title", on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    model_version = models.ForeignKey(
        "modeling.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
    )
    policy = models.CharField(max_length=60)
    propensity = models.FloatField(help_text="Probability the policy shows this title here.")
    features = models.JSONField(default=dict, help_text="Features serving used for this slot.")
    explored = models.BooleanField(
        default=False,
        help_text="Chosen by the explorer (propensity < 1 possible); false: a deterministic "
        "row's slot, propensity 1.",
    )
    bandit_state = models.ForeignKey(
        "exploration.BanditState",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
        help_text="The explorer's state it chose from (none: deterministic, or a fresh policy).",
    )
    estimated = models.BooleanField(
        default=False, help_text="The propensity is a Monte Carlo estimate (Thompson sampling)."
    )
    draws = models.PositiveIntegerField(default=0, help_text="Monte Carlo draws of an estimate.")
    bandit_inputs = models.JSONField(
        default=dict, blank=True, help_text="The explorer's context and action features."
    )
    artwork = models.PositiveSmallIntegerField(default=0, help_text="Artwork variant shown.")
    artwork_propensity = models.FloatField(default=1.0, help_text="Probability of the variant.")
    artwork_policy = models.CharField(
        max_length=60, blank=True, help_text="The artwork explorer; blank: the title's own."
    )
    artwork_state = models.ForeignKey(
        "exploration.BanditState",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    objects = ImpressionQuerySet.as_manager()

    class Meta:
        managed = False
        ordering = ["page", "row_index", "position"]

    def __str__(self) -> str:
        return f"{self.row_key}[{self.position}] title {self.title_id} on page {self.page_id}"

    def save(self, *args, **kwargs):
        raise ValueError(
            "Impressions are written with their page, by events.services.page_record; the "
            "events_impression view cannot be written."
        )

    def delete(self, *args, **kwargs):
        raise ValueError("Impressions are facts of the log; they are never deleted.")


class Interaction(AppendOnlyModel):
    """Something a member did, reported by the client with a client-generated id."""

    class Type(models.TextChoices):
        IMPRESSION_SEEN = "impression_seen", "Impression seen"
        PLAY = "play", "Play"
        THUMB_UP = "thumb_up", "Thumb up"
        THUMB_DOWN = "thumb_down", "Thumb down"
        SEARCH_PLAY = "search_play", "Play from search"

    event_id = models.UUIDField(
        db_index=True, help_text="Client-generated; a repeat from the same account is stored once."
    )
    type = models.CharField(max_length=20, choices=Type.choices)
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="events")
    title = models.ForeignKey("catalog.Title", on_delete=models.PROTECT)
    page = models.ForeignKey(PageView, null=True, blank=True, on_delete=models.PROTECT)
    row_key = models.CharField(max_length=40, blank=True)
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    watched_seconds = models.PositiveIntegerField(null=True, blank=True)
    query = models.CharField(max_length=200, blank=True)
    device = models.CharField(
        max_length=10,
        choices=Device.choices,
        blank=True,
        help_text="The device it happened on: as the client said, else its page's (blank: "
        "unknown).",
    )
    occurred_at = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at"]
        constraints = [
            # The idempotency key belongs to the client that made it, not to the world: another
            # account may use the same id. events_ingest widens the scope to the whole account.
            models.UniqueConstraint(fields=["member", "event_id"], name="interaction_event_once"),
        ]
        indexes = [
            models.Index(fields=["member", "type", "occurred_at"]),
            models.Index(fields=["type", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} of title {self.title_id} by member {self.member_id}"
