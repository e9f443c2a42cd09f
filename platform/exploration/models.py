"""The explorer's configuration, its learned states and the runs that learned them.

Three uses, one configuration row each (`ExplorerConfig`): the exploration slots (positions
in Top Picks and the "Something different" row), the row order, and the artwork. A use with
no row, or a disabled one, is served deterministically (propensity 1.0).

A use's learned state is a chain of immutable `BanditState` rows: an update never rewrites
a state, it saves the next version, and serving always reads the newest. `UpdateRun`
records every update, its watermark (the last impression it counted) and, when it failed,
why; the newest state of a failed run's use is the one its predecessor saved.
"""

from django.core.exceptions import ValidationError
from django.db import models


class Use(models.TextChoices):
    SLOTS = "slots", "Exploration slots (Top Picks positions and Something different)"
    ROW_ORDER = "row_order", "Row order (which rows appear, in which order)"
    ARTWORK = "artwork", "Artwork (which variant of each title)"


class ExplorerConfig(models.Model):
    """How one use explores: its policy and parameters, checked by building the policy."""

    use = models.CharField(max_length=20, choices=Use.choices, unique=True)
    enabled = models.BooleanField(default=False)
    policy = models.CharField(
        max_length=40,
        help_text="A policy of recommender.bandits: epsilon_greedy, softmax, linucb, "
        "linucb_hybrid, thompson, thompson_hybrid.",
    )
    rate = models.FloatField(
        default=0.1,
        help_text="Exploration rate in [0, 1] (epsilon-greedy's epsilon; the other policies' "
        "own exploration parameter, see docs/exploration.md).",
    )
    floor = models.FloatField(
        default=0.0,
        help_text="Least probability of every eligible action at every position; "
        "floor x candidates must not exceed 1.",
    )
    positions = models.PositiveSmallIntegerField(
        default=2, help_text="Slots only: how many positions of Top Picks the explorer fills."
    )
    params = models.JSONField(
        default=dict, blank=True, help_text="Further parameters of the policy, by name."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["use"]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"{self.use}: {self.policy} (rate {self.rate}, {state})"

    def clean(self) -> None:
        """Build the policy: whatever the bandit library refuses (an unknown name, a rate
        outside [0, 1], a floor too large for the candidates) is a field error here."""
        from .bandit import ExplorerConfigError, config_check

        if not isinstance(self.params, dict):
            raise ValidationError({"params": "Parameters must be a JSON object of name: value."})
        try:
            config_check(self)
        except ExplorerConfigError as exc:
            raise ValidationError({exc.field: str(exc)}) from exc


class UpdateRun(models.Model):
    """One run of the update: which impressions it counted, and how it ended."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    trigger = models.CharField(max_length=20, default="schedule")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    counts = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per use: impressions counted, rewards, watermark before and after.",
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"update run {self.pk} ({self.status})"


class Watermark(models.Model):
    """The last impression a use's state has counted. Updates lock this row (SELECT ... FOR
    UPDATE) for the whole update, so two runs at once count every impression once."""

    use = models.CharField(max_length=20, choices=Use.choices, unique=True)
    impression_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.use} counted through impression {self.impression_id}"


class BanditState(models.Model):
    """A learned state of one use's policy. Immutable: the next update saves the next one."""

    use = models.CharField(max_length=20, choices=Use.choices)
    version = models.PositiveIntegerField(help_text="1, 2, ... per use.")
    policy = models.CharField(max_length=40)
    config = models.JSONField(help_text="The policy's config, as make_policy rebuilds it.")
    state = models.BinaryField(help_text="The policy's state_dict as a numpy .npz archive.")
    created_at = models.DateTimeField(auto_now_add=True)
    run = models.ForeignKey(
        UpdateRun, null=True, blank=True, on_delete=models.PROTECT, related_name="states"
    )
    counted = models.PositiveIntegerField(default=0, help_text="Feedback rows it learned from.")
    watermark = models.BigIntegerField(default=0, help_text="Last impression id it counted.")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["use", "version"], name="bandit_state_version_once"),
        ]
        indexes = [models.Index(fields=["use", "-id"])]

    def __str__(self) -> str:
        return f"{self.use} v{self.version} ({self.policy})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A bandit state is immutable; save the next version instead.")
        super().save(*args, **kwargs)
