"""Retraining and the promotion gate.

A retrain reads the fact log as of now, splits it in time, and for each candidate kind: fits
on the train part, scores the holdout beside the production model, refits on all facts,
registers the result as an immutable ModelVersion, and lets the gate decide. Only the gate
changes what is in production, and only for a candidate that beats production on the same
holdout: a failed or worse candidate never serves.
"""

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.selectors import title_available

from . import training
from .dataset import plays_as_of
from .features import item_metadata
from .models import ModelVersion, PromotionDecision, RetrainRun
from .ranking import checkpoint_path
from .selectors import production_version

logger = logging.getLogger(__name__)

MIN_TRAIN_PLAYS = 20
MIN_HOLDOUT_USERS = 3


class RetrainError(Exception):
    """A retrain that cannot go ahead, with a message a person can act on."""


def retrain_run_create(*, trigger: str = "api", requested_by=None) -> RetrainRun:
    return RetrainRun.objects.create(trigger=trigger, requested_by=requested_by)


class RetrainNotQueued(Exception):
    """The task broker could not take a requested retrain; `run` is recorded as failed."""

    def __init__(self, run: RetrainRun):
        super().__init__(run.error)
        self.run = run


def retrain_request(*, trigger: str = "api", requested_by=None) -> RetrainRun:
    """Record a retrain run and queue it for a worker at once. If the broker is down, the run
    is recorded as failed with the reason and RetrainNotQueued raised: the person asking
    learns now that nothing will happen, instead of waiting on a run that never starts."""
    from .tasks import BrokerUnavailable, retrain_enqueue  # the tasks module imports this one

    run = retrain_run_create(trigger=trigger, requested_by=requested_by)
    try:
        retrain_enqueue(run_id=run.pk)
    except BrokerUnavailable as exc:
        error = f"{exc} Nothing was queued; try again when it is up."
        raise RetrainNotQueued(retrain_run_fail(run_id=run.pk, error=error)) from exc
    return run


def retrain_run_fail(*, run_id: int, error: str) -> RetrainRun:
    """Record that a run never started (for example, its task could not be queued)."""
    run = RetrainRun.objects.get(pk=run_id)
    run.status, run.error, run.finished_at = RetrainRun.Status.FAILED, error[:2000], timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    return run


def promotion_decide(
    *,
    candidate: ModelVersion,
    candidate_value: float,
    baseline: ModelVersion | None,
    baseline_value: float | None,
    refresh: bool = False,
    metric: str = training.GATE_METRIC,
) -> PromotionDecision:
    """The promotion gate.

    `baseline_value` is production's recipe refit on the candidate's own training facts and
    scored on the same holdout. A new recipe is promoted only if it strictly beats that. A
    refresh (production's own recipe, now trained on newer facts) is promoted if it is at
    least as good, which is what lets the model keep up with its members.
    """
    if baseline is None:
        promoted, reason = True, "no model in production yet"
    elif baseline_value is None:
        promoted = True
        reason = f"production v{baseline.pk} could not be rebuilt or loaded to compare; a working candidate replaces it"
    elif candidate_value > baseline_value:
        promoted = True
        reason = f"{metric} {candidate_value:.4f} beats production v{baseline.pk}'s recipe on the same facts ({baseline_value:.4f})"
    elif refresh and candidate_value >= baseline_value:
        promoted = True
        reason = f"refresh of production v{baseline.pk}'s recipe on newer facts; {metric} {candidate_value:.4f}, as good on the same facts"
    else:
        promoted = False
        reason = f"{metric} {candidate_value:.4f} does not beat production v{baseline.pk}'s recipe on the same facts ({baseline_value:.4f})"
    return PromotionDecision.objects.create(
        candidate=candidate,
        baseline=baseline,
        promoted=promoted,
        metric=metric,
        candidate_value=candidate_value,
        baseline_value=baseline_value,
        reason=reason,
    )


def _register(
    *, kind: str, model, metrics: dict, trained_as_of: datetime, n_events: int
) -> ModelVersion:
    """Write the checkpoint first, then the row: a row never points at a missing checkpoint."""
    folder = f"{timezone.now():%Y%m%dT%H%M%S}-{kind}-{uuid.uuid4().hex[:8]}"
    training.checkpoint_save(model, Path(settings.MODEL_DIR) / folder)
    return ModelVersion.objects.create(
        kind=kind,
        checkpoint=folder,
        trained_as_of=trained_as_of,
        n_train_events=n_events,
        config=training.recipe(kind),
        metrics=metrics,
    )


def _previous(production: ModelVersion | None, kind: str):
    """Production's model to warm-start a candidate of the same kind from, if it loads."""
    if production is None or production.kind != kind:
        return None
    try:
        return training.checkpoint_load(checkpoint_path(production))
    except Exception:
        logger.exception("Production v%s could not be loaded to warm-start from", production.pk)
        return None


def _production_value(production: ModelVersion, split: training.Split) -> float | None:
    """Production's recipe (kind and config) refit on the split's training facts, scored on its
    holdout. Judging the production *artifact* instead would favour it twice over: it may have
    been trained on some of the holdout, and the holdout's plays happened on pages production
    itself chose (exposure bias). If the recipe cannot be rebuilt, fall back to the artifact."""
    try:
        model = training.trial_fit(
            production.kind, split, seed=settings.MODELING_SEED, config=production.config
        )
    except Exception:
        logger.exception(
            "Production v%s's recipe could not be rebuilt; judging its checkpoint", production.pk
        )
        try:
            model = training.checkpoint_load(checkpoint_path(production))
        except Exception:
            logger.exception("Production v%s could not be loaded for evaluation", production.pk)
            return None
    return training.holdout_metrics(model, split)[training.GATE_METRIC]


def retrain_execute(*, run_id: int, at: datetime | None = None) -> RetrainRun:
    """Run one retrain to its end, recording success or the reason for failure on the run."""
    run = RetrainRun.objects.get(pk=run_id)
    if run.status not in (RetrainRun.Status.QUEUED, RetrainRun.Status.FAILED):
        raise RetrainError(f"Retrain run {run_id} is already {run.status}.")
    run.status, run.started_at, run.error = RetrainRun.Status.RUNNING, timezone.now(), ""
    run.save(update_fields=["status", "started_at", "error"])
    try:
        promoted = _retrain(run, at=at or timezone.now())
    except Exception as exc:
        logger.exception("Retrain run %s failed", run_id)
        run.status, run.error = RetrainRun.Status.FAILED, str(exc)[:2000]
    else:
        run.status, run.promoted = RetrainRun.Status.SUCCEEDED, promoted
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "promoted", "finished_at"])
    return run


def _retrain(run: RetrainRun, *, at: datetime) -> ModelVersion | None:
    data = training.to_interactions(plays_as_of(at=at))
    if len(data) < MIN_TRAIN_PLAYS:
        raise RetrainError(
            f"Only {len(data)} plays in the fact log; at least {MIN_TRAIN_PLAYS} are needed to train."
        )
    horizon = datetime.fromtimestamp(float(data.timestamps.max()), tz=UTC)
    production = production_version()
    if production is not None and horizon <= production.trained_as_of:
        raise RetrainError(
            f"No plays newer than production v{production.pk}'s data "
            f"({production.trained_as_of:%Y-%m-%d %H:%M}): nothing new to learn from."
        )
    items = item_metadata(title_available(at=at))  # the catalogue as it was at `at`
    split = training.split_for_gate(
        data, items, holdout_fraction=settings.MODELING_HOLDOUT_FRACTION
    )
    holdout_users = len(set(split.holdout.user_ids.tolist()))
    if holdout_users < MIN_HOLDOUT_USERS:
        raise RetrainError(
            f"Only {holdout_users} members have plays in the holdout (the latest "
            f"{settings.MODELING_HOLDOUT_FRACTION:.0%} of plays); need {MIN_HOLDOUT_USERS} to judge a candidate."
        )
    baseline_value = _production_value(production, split) if production else None
    promoted = None
    seed = settings.MODELING_SEED
    for kind in settings.MODELING_CANDIDATES:
        trial = training.trial_fit(kind, split, seed=seed)
        metrics = training.holdout_metrics(trial, split)
        if metrics[training.GATE_METRIC] is None:
            raise RetrainError(
                f"No member in the holdout played a title new to them, so "
                f"{training.GATE_METRIC} cannot judge candidates; retrain after more plays."
            )
        metrics["holdout_cut"] = datetime.fromtimestamp(split.cut, tz=UTC).isoformat()
        metrics["production_value"] = baseline_value
        config = training.recipe(kind)
        refresh = production is not None and (kind, config) == (production.kind, production.config)
        # Serve a model that saw every fact, warm-started from production when it is the
        # same kind (incremental retraining: new titles start from their metadata, and the
        # embedding space stays aligned with the version it replaces).
        final = training.candidate_fit(
            kind, data, seed=seed, items=items, warm_start=_previous(production, kind)
        )
        with transaction.atomic():
            version = _register(
                kind=kind, model=final, metrics=metrics, trained_as_of=horizon, n_events=len(data)
            )
            run.candidates.add(version)
            decision = promotion_decide(
                candidate=version,
                candidate_value=metrics[training.GATE_METRIC],
                baseline=production,
                baseline_value=baseline_value,
                refresh=refresh,
            )
        logger.info("Candidate v%s (%s): %s", version.pk, kind, decision.reason)
        if decision.promoted:
            production, baseline_value, promoted = version, metrics[training.GATE_METRIC], version
    return promoted
