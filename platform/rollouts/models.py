"""Online experiments: what is compared (arms), every daily readout, every decision.

An `Experiment` is the only mutable row, and only in its lifecycle fields (status, canary
share, the simulated times it started and stopped): what it compares (surface, salt, kind,
arms) is fixed at creation. Arms, readouts and decisions are append-only records, so what an
experiment showed on each simulated day, and why it advanced, shipped or rolled back, can
always be read back as it was.

Members are assigned to arms by a stable hash of their id and the experiment's salt
(recommender.abtest.assignment, through rollouts.analysis): a member's arm needs no row.
"""

import secrets

from django.db import models

from events.models import AppendOnlyModel


class Surface(models.TextChoices):
    """What an experiment varies: the serving model, or one explorer use's policy."""

    MODEL = "model", "Model version"
    SLOTS = "slots", "Exploration slots policy"
    ROW_ORDER = "row_order", "Row-order policy"
    ARTWORK = "artwork", "Artwork policy"


def new_salt() -> str:
    return secrets.token_hex(8)


class Experiment(models.Model):
    """An A/B test (fixed shares) or a canary (control and candidate at a share that grows
    step by step, recommender.abtest.canary)."""

    class Kind(models.TextChoices):
        AB = "ab", "A/B test"
        CANARY = "canary", "Canary rollout"

    class Status(models.TextChoices):
        DRAFT = "draft"
        RUNNING = "running"
        STOPPED = "stopped"
        SHIPPED = "shipped"
        ROLLED_BACK = "rolled_back"

    LIFECYCLE = frozenset(
        {"status", "canary_step", "canary_share", "share_since_day", "started_at", "stopped_at"}
    )
    """The only fields a saved experiment may change (plus `updated_at`, the serving cache's
    change marker)."""

    name = models.CharField(max_length=100)
    surface = models.CharField(max_length=20, choices=Surface.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.AB)
    salt = models.CharField(
        max_length=40,
        default=new_salt,
        help_text="Hashed with each member id to assign arms; a new salt, a new assignment.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    canary_step = models.PositiveSmallIntegerField(
        default=0, help_text="Canary only: index of the current share in the steps."
    )
    canary_share = models.FloatField(
        default=0.0, help_text="Canary only: share of members in each arm now (0 < s <= 0.5)."
    )
    share_since_day = models.PositiveIntegerField(
        default=0, help_text="Canary only: the simulated day the current share began."
    )
    source = models.CharField(
        max_length=20, default="api", help_text='Who created it: "api", "admin" or "gate".'
    )
    gate = models.JSONField(
        default=dict,
        blank=True,
        help_text="A canary the promotion gate started: the gate's offline figures, recorded "
        "on the PromotionDecision when the canary ends.",
    )
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="Simulated time (the pages' clock) it started."
    )
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="Simulated time it stopped, shipped or rolled back."
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"experiment {self.pk} {self.name!r} ({self.kind} on {self.surface}, {self.status})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            fields = set(kwargs.get("update_fields") or ())
            if not fields or not fields <= self.LIFECYCLE | {"updated_at"}:
                raise ValueError(
                    "An experiment's arms, surface and salt are fixed once created; save it "
                    f"with update_fields among {sorted(self.LIFECYCLE)}."
                )
            kwargs["update_fields"] = fields | {"updated_at"}
        super().save(*args, **kwargs)


class Arm(AppendOnlyModel):
    """One arm: a model version (model surface; none: production's) or an explorer policy
    (explorer surfaces; empty: production's config). A canary's arms are named "control" and
    "candidate" and take the experiment's canary share each."""

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="arms")
    name = models.CharField(max_length=40)
    share = models.FloatField(help_text="A/B: share of members; canary: its largest share.")
    is_control = models.BooleanField(default=False)
    model_version = models.ForeignKey(
        "modeling.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    explorer = models.JSONField(
        default=dict,
        blank=True,
        help_text="Explorer surfaces: {policy, rate, floor, positions, params}, checked by "
        "building the policy (exploration.bandit.policy_build); empty: production's.",
    )

    class Meta:
        ordering = ["experiment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="arm_name_once"),
        ]

    def __str__(self) -> str:
        return f"arm {self.name} of experiment {self.experiment_id}"


class Readout(AppendOnlyModel):
    """One arm's figures on one simulated day of an experiment: every metric over the
    experiment's traffic from its start through the end of that day (each look sees all the
    data so far, as the sequential test expects), with intervals; against control, the
    fixed-horizon and the always-valid comparisons."""

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="readouts")
    arm = models.ForeignKey(Arm, on_delete=models.PROTECT, related_name="readouts")
    day = models.PositiveIntegerField(help_text="Simulated days since the start (0: the first).")
    share = models.FloatField(help_text="The arm's share of members that day.")
    members = models.PositiveIntegerField(help_text="Members of the arm seen so far.")
    metrics = models.JSONField(
        help_text="Per metric: {mean, low, high, n} (null: no unit to measure yet)."
    )
    comparison = models.JSONField(
        default=dict,
        blank=True,
        help_text="Against control, per metric: fixed-horizon {diff, low, high, p_value, "
        "relative, cuped} and always-valid {seq_low, seq_high, seq_p}; empty for control.",
    )
    srm_p = models.FloatField(null=True, blank=True, help_text="Sample-ratio check p, all arms.")
    srm_mismatch = models.BooleanField(default=False)
    sequential_p = models.FloatField(
        null=True, blank=True, help_text="Always-valid p of the primary, carried day to day."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["experiment", "day", "arm"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "day", "arm"], name="readout_once_per_day_and_arm"
            ),
        ]

    def __str__(self) -> str:
        return f"readout of experiment {self.experiment_id} day {self.day} arm {self.arm_id}"


class ExperimentDecision(AppendOnlyModel):
    """What was decided and why: start, stop, and each canary step (hold, advance, ship,
    rollback, stop)."""

    class Action(models.TextChoices):
        START = "start"
        HOLD = "hold"
        ADVANCE = "advance"
        SHIP = "ship"
        ROLLBACK = "rollback"
        STOP = "stop"

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="decisions")
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField(max_length=500)
    day = models.PositiveIntegerField(null=True, blank=True, help_text="Readout day it followed.")
    share = models.FloatField(default=0.0, help_text="Canary share after the decision.")
    at = models.DateTimeField(help_text="Simulated time of the decision.")
    created_at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["experiment", "id"]
        constraints = [
            # One canary step per readout day: a rerun of the readouts decides nothing twice.
            models.UniqueConstraint(
                fields=["experiment", "day"],
                condition=models.Q(day__isnull=False),
                name="experiment_decision_once_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} experiment {self.experiment_id}: {self.reason}"
