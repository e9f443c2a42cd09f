"""The model registry: immutable model versions, the promotion gate's decisions, retrain runs."""

from django.db import models


class ModelVersion(models.Model):
    """A trained model. Immutable once registered: only a PromotionDecision puts it in production."""

    kind = models.CharField(max_length=40, help_text="Model kind in recommender.MODELS.")
    checkpoint = models.CharField(max_length=300, help_text="Folder under MODEL_DIR.")
    created_at = models.DateTimeField(auto_now_add=True)
    trained_as_of = models.DateTimeField(help_text="Facts after this time were not seen.")
    n_train_events = models.PositiveIntegerField()
    config = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict, help_text="Holdout metrics from the gate's split.")
    run = models.ForeignKey(
        "RetrainRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="candidates",
        help_text="The retrain run that trained it.",
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A run redelivered after its worker died resumes: it never registers a kind twice.
            models.UniqueConstraint(fields=["run", "kind"], name="model_version_once_per_run"),
        ]

    def __str__(self) -> str:
        return f"v{self.pk} ({self.kind})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A registered model version is immutable.")
        super().save(*args, **kwargs)

    @property
    def decision(self) -> "PromotionDecision | None":
        """The decision in effect on this version: the gate's, or, for a candidate the gate
        sent to a canary experiment (rollouts), the one recorded when that canary shipped or
        rolled back. Read from `prefetch_related("decisions")` when the query did."""
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("decisions")
        if prefetched is not None:
            return max(prefetched, key=lambda d: d.pk, default=None)
        return self.decisions.order_by("-id").first()


class PromotionDecision(models.Model):
    """A verdict on a candidate: the promotion gate's, or a canary experiment's that the gate
    started (a candidate that passed the offline gate against a model in production serves
    only if its canary ships). Production = the candidate of the latest promoted decision."""

    candidate = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="decisions")
    baseline = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    promoted = models.BooleanField()
    metric = models.CharField(max_length=40)
    candidate_value = models.FloatField(
        null=True, blank=True, help_text="None when the candidate could not be judged at all."
    )
    baseline_value = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    canary = models.BooleanField(
        default=False,
        help_text="Passed the offline gate against a model in production, so not promoted "
        "here: the run's best such candidate goes to a canary experiment, which decides.",
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    # Off-policy evaluation on the explorer's logged pages (modeling.ope): the doubly robust
    # value of the candidate's and of production's target policy per explored slot, each with
    # its 95% bootstrap interval and effective sample size; all null when the check was skipped.
    ope_impressions = models.PositiveIntegerField(
        default=0, help_text="Explored impressions of the holdout period the OPE check read."
    )
    ope_candidate_value = models.FloatField(null=True, blank=True)
    ope_candidate_low = models.FloatField(null=True, blank=True)
    ope_candidate_high = models.FloatField(null=True, blank=True)
    ope_candidate_ess = models.FloatField(null=True, blank=True)
    ope_baseline_value = models.FloatField(null=True, blank=True)
    ope_baseline_low = models.FloatField(null=True, blank=True)
    ope_baseline_high = models.FloatField(null=True, blank=True)
    ope_baseline_ess = models.FloatField(null=True, blank=True)
    ope_note = models.CharField(
        max_length=300, blank=True, help_text="How the OPE check judged, or why it was skipped."
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        verdict = "promoted" if self.promoted else "kept out"
        return f"v{self.candidate_id} {verdict}: {self.reason}"


class RetrainRun(models.Model):
    """One run of the retrain task, so the API can say what happened to a request."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=20, default="api")
    requested_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateTimeField(
        null=True, blank=True, help_text="The fact log is read as of this time, on every attempt."
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker started it (a lost worker's run is resumed)."
    )
    promoted = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"retrain run {self.pk} ({self.status})"


class EmbeddingSet(models.Model):
    """The title and member vectors a version was stored with (modeling.embeddings), or a
    record that its kind has none. Immutable, like its version: one per version, written
    whole in one transaction."""

    version = models.OneToOneField(
        ModelVersion, on_delete=models.PROTECT, related_name="embedding_set"
    )
    method = models.CharField(
        max_length=40, help_text='How the vectors were obtained (the kind), or "none".'
    )
    note = models.CharField(
        max_length=300, help_text="What the vectors are, or why there are none."
    )
    dim = models.PositiveIntegerField(default=0)
    aligned_to = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version whose stored title vectors these were rotated onto.",
    )
    shared_titles = models.PositiveIntegerField(default=0)
    drift_before_align = models.FloatField(null=True, blank=True)
    drift_after_align = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"embeddings of v{self.version_id} ({self.method}, {self.dim} dims)"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Stored embeddings are immutable.")
        super().save(*args, **kwargs)


class Embedding(models.Model):
    """One title's or member's vector in an EmbeddingSet: float32, little-endian bytes."""

    class Entity(models.TextChoices):
        TITLE = "title"
        MEMBER = "member"

    embedding_set = models.ForeignKey(
        EmbeddingSet, on_delete=models.CASCADE, related_name="vectors"
    )
    entity = models.CharField(max_length=6, choices=Entity.choices)
    key = models.BigIntegerField(
        help_text="The title's or member's id (no foreign key: a profile may be deleted later)."
    )
    vector = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["embedding_set", "entity", "key"], name="embedding_once_per_set"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.key} in set {self.embedding_set_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Stored embeddings are immutable.")
        super().save(*args, **kwargs)
