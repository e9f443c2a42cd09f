"""The fact log: append-only records of what was served and what members did.

Nothing here is ever updated or deleted by the application. Training reads these facts
"as of" a time, and the features recorded with each impression are the ones serving used.
"""

import uuid

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


class Impression(AppendOnlyModel):
    """One title shown in one slot of one page, with how and why it was chosen.

    **Keys the database does not check.** A page writes 100-250 of these rows in one
    transaction, right after its `PageView` row. Their page, member and model version are
    that page's (written once per page, `events.services.page_record`), and the page row
    holds the same member and model version under checked foreign keys; their bandit states
    are the explorer states the request served from, rows that are never deleted. A
    foreign key constraint on each of those would look up the parent row once per
    impression (a trigger per key per row: 540 lookups a page), and a single-column index
    on each would be updated once per impression, for keys no query filters on alone (the
    page's and the member's are the first column of `impression_slot_unique` and of the
    (member, served_at) index). Measured on PostgreSQL, the page's record cost about a
    third less database CPU without them (docs/benchmarks.md, "Load"). So these keys are
    declared to Django (joins, and `PROTECT` still refuses to delete a member, page, model
    version or state that impressions refer to) but not enforced by the database, as a
    data warehouse's fact table keeps its keys. The title is the one key a page row does
    not carry: it keeps its constraint and index.
    """

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
    title = models.ForeignKey("catalog.Title", on_delete=models.PROTECT)
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

    class Meta:
        ordering = ["page", "row_index", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["page", "row_index", "position"], name="impression_slot_unique"
            ),
            models.UniqueConstraint(fields=["page", "title"], name="impression_title_once_a_page"),
            models.CheckConstraint(
                condition=models.Q(propensity__gt=0) & models.Q(propensity__lte=1),
                name="impression_propensity_in_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(artwork_propensity__gt=0) & models.Q(artwork_propensity__lte=1),
                name="impression_artwork_propensity_in_0_1",
            ),
        ]
        indexes = [models.Index(fields=["member", "served_at"])]

    def __str__(self) -> str:
        return f"{self.row_key}[{self.position}] title {self.title_id} on page {self.page_id}"


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
