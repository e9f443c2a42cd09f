"""Retraining and the promotion gate.

A retrain reads the fact log as of now, splits it in time, and for each candidate kind: fits
on the train part, scores the holdout beside the production model, refits on all facts,
registers the result as an immutable ModelVersion, and lets the gate decide. A failed or worse
candidate never serves, nor does one whose scores are not finite or whose checkpoint does not
load back. One that beats production on the same holdout does not serve everyone yet: the
run's best goes to a canary experiment against production (rollouts), and production changes
only when that canary ships (`canary_conclude`). Only with nothing in production does the
gate promote directly.

Retrains survive their workers. One runs at a time (modeling.locks); a run whose worker died
is redelivered (the task acknowledges late) and resumes where it stopped: each kind it already
registered is kept, with its decision, and only the rest are trained, on the same facts (the
run's `as_of`). A (run, kind) is registered at most once, which the database enforces.
"""

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from catalog.selectors import title_available

from . import ope, training
from .dataset import plays_as_of
from .features import item_metadata
from .locks import retrain_lock, run_lock
from .models import ModelVersion, PromotionDecision, RetrainRun
from .ranking import checkpoint_path
from .selectors import production_version

logger = logging.getLogger(__name__)

MIN_TRAIN_PLAYS = 20
MIN_HOLDOUT_USERS = 3
MAX_ATTEMPTS = 3
"""Starts of one run before it is given up: a retrain that kills its worker every time (out of
memory, say) must not be redelivered forever."""
SCORE_CHECK_MEMBERS = 200


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
    candidate_value: float | None,
    baseline: ModelVersion | None,
    baseline_value: float | None,
    refresh: bool = False,
    unfit: str | None = None,
    metric: str = training.GATE_METRIC,
    ope_check: ope.Check | None = None,
    via_canary: bool = False,
    canary_busy: str | None = None,
) -> PromotionDecision:
    """The promotion gate.

    `baseline_value` is production's recipe refit on the candidate's own training facts and
    scored on the same holdout. A new recipe is promoted only if it strictly beats that. A
    refresh (production's own recipe, now trained on newer facts) is promoted if it is at
    least as good, which is what lets the model keep up with its members. A candidate that
    cannot serve (`unfit` says why: scores that are not finite, a checkpoint that does not
    load) is never promoted, whatever its metrics and even with nothing in production.

    Beside the offline metric, `ope_check` holds the doubly robust value on the explorer's
    logged pages of the candidate's policy and of production's (modeling.ope): a candidate
    whose 95% interval lies wholly below production's is not promoted, whatever the offline
    metric says. Both figures are recorded either way; a skipped check records why.

    `via_canary` (the retrain sets it when a model served members as it began, and the
    setting MODELING_PROMOTE_VIA_CANARY is on): a candidate that passes against a working
    production is not promoted here; its decision is marked `canary`, and the retrain puts
    its best such candidate to a canary experiment (rollouts), whose ship or rollback records
    the decision that counts (`canary_conclude`). `canary_busy` says why no canary can start
    now (one runs already on the model surface): such a candidate is then not promoted. A
    production that cannot be judged (its recipe cannot be rebuilt nor its checkpoint
    loaded) is replaced directly, as is nothing.
    """
    ope_check = ope_check or ope.skipped(0, "no OPE check was run")
    if unfit is not None:
        promoted, reason = False, f"cannot serve: {unfit}"[:300]
    elif baseline is None:
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
    if promoted and baseline is not None and ope_check.below:
        c, b = ope_check.candidate, ope_check.baseline
        promoted = False
        reason = (
            f"off-policy DR {c.value:.4f} [{c.low:.4f}, {c.high:.4f}] lies below production "
            f"v{baseline.pk}'s {b.value:.4f} [{b.low:.4f}, {b.high:.4f}] on {ope_check.impressions} explored impressions"
        )[:300]
    canary = False
    if promoted and via_canary and baseline is not None and baseline_value is not None:
        promoted = False
        if canary_busy:
            reason = f"{reason}; passed the offline gate, but {canary_busy}: not promoted"
        else:
            canary = True
            reason = f"{reason}; passed the offline gate: a canary experiment decides"
        reason = reason[:300]
    c, b = ope_check.candidate, ope_check.baseline
    return PromotionDecision.objects.create(
        candidate=candidate,
        baseline=baseline,
        promoted=promoted,
        canary=canary,
        metric=metric,
        candidate_value=candidate_value,
        baseline_value=baseline_value,
        reason=reason,
        ope_impressions=ope_check.impressions,
        ope_candidate_value=c.value if c else None,
        ope_candidate_low=c.low if c else None,
        ope_candidate_high=c.high if c else None,
        ope_candidate_ess=c.ess if c else None,
        ope_baseline_value=b.value if b else None,
        ope_baseline_low=b.low if b else None,
        ope_baseline_high=b.high if b else None,
        ope_baseline_ess=b.ess if b else None,
        ope_note=_ope_note(ope_check, baseline),
    )


def _ope_note(check: ope.Check, baseline: ModelVersion | None) -> str:
    if not check.judged:
        return check.note[:300]
    verdict = "lies below" if check.below else "does not lie below"
    return (
        f"DR on {check.impressions} explored impressions: the candidate's interval {verdict} "
        f"production v{baseline.pk}'s"
    )[:300]


def _register(
    *, run: RetrainRun, kind: str, model, metrics: dict, trained_as_of: datetime, n_events: int
) -> ModelVersion:
    """Write the checkpoint first, then the row: a row never points at a missing checkpoint.
    (A worker killed between the two leaves an orphan folder behind, never a broken row.)"""
    folder = f"{timezone.now():%Y%m%dT%H%M%S}-{kind}-{uuid.uuid4().hex[:8]}"
    training.checkpoint_save(model, Path(settings.MODEL_DIR) / folder)
    return ModelVersion.objects.create(
        run=run,
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


def _production_value(production: ModelVersion, split: training.Split):
    """Production's recipe (kind and config) refit on the split's training facts, scored on its
    holdout. Judging the production *artifact* instead would favour it twice over: it may have
    been trained on some of the holdout, and the holdout's plays happened on pages production
    itself chose (exposure bias). If the recipe cannot be rebuilt, fall back to the artifact.
    Returns (value, the model judged), (None, None) when neither could be had."""
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
            return None, None
    return training.holdout_metrics(model, split)[training.GATE_METRIC], model


def _score_problem(model, split: training.Split) -> str | None:
    """Why `model` cannot serve, or None: every score it gives members (some from the holdout,
    and one it never saw, who gets its prior) must be a finite number. A diverged fit (NaN or
    inf) would otherwise rank titles in an arbitrary order, and NaN compares false with any
    metric, so the gate alone could not be trusted to notice."""
    members = sorted(set(split.holdout.user_ids.tolist()))[:SCORE_CHECK_MEMBERS]
    try:
        scores = model.score([*members, "\x00never-seen"], at=split.cut)
    except Exception as exc:
        return f"it fails to score members ({type(exc).__name__}: {exc})"
    bad = ~np.isfinite(scores)
    if bad.any():
        rows = int(bad.any(axis=1).sum())
        return f"its scores are not finite (NaN or inf) for {rows} of {len(scores)} members checked"
    return None


def _served_problem(version: ModelVersion, split: training.Split) -> str | None:
    """Why the registered checkpoint cannot serve, or None: it is loaded back from disk, as a
    web process will load it, and its scores checked."""
    try:
        model = training.checkpoint_load(checkpoint_path(version))
    except Exception as exc:
        return f"its checkpoint does not load ({exc})"
    return _score_problem(model, split)


def retrain_execute(*, run_id: int, at: datetime | None = None) -> RetrainRun:
    """Run one retrain to its end, or resume it, recording success or the reason for failure.

    Idempotent, as a task that is delivered at least once must be: a run that already ended,
    or that another process is working on (it holds the run's lock), is returned as it is.
    While another run holds the retrain lock, this one is recorded as failed: it would train
    on the same facts twice. Holding both locks, runs still marked running were lost with
    their workers; this run resumes if it is one of them, and the others are closed. The
    facts are read as of `at` (default now) on the first start, and as of the same time on
    every resumption. A dropped database connection propagates (the task retries); any other
    error fails the run with its message.
    """
    with run_lock(run_id) as mine:
        if not mine:
            return RetrainRun.objects.get(pk=run_id)  # a second delivery of a run being worked
        with retrain_lock() as held:
            return _execute(RetrainRun.objects.get(pk=run_id), held=held, at=at)


def _execute(run: RetrainRun, *, held: bool, at: datetime | None) -> RetrainRun:
    if run.status in (RetrainRun.Status.SUCCEEDED, RetrainRun.Status.FAILED):
        return run
    if not held:
        return _refuse_while_another_runs(run)
    _close_lost_runs(keep=run)
    if run.attempts >= MAX_ATTEMPTS:
        return _finish(
            run, error=f"Started {run.attempts} times and lost its worker every time; given up."
        )
    run.status, run.attempts = RetrainRun.Status.RUNNING, run.attempts + 1
    run.started_at = run.started_at or timezone.now()
    run.as_of = run.as_of or at or timezone.now()
    run.save(update_fields=["status", "attempts", "started_at", "as_of"])
    try:
        promoted = _retrain(run, at=run.as_of)
    except (OperationalError, InterfaceError):
        raise  # the database is unreachable: nothing can be recorded; the task retries
    except Exception as exc:
        logger.exception("Retrain run %s failed", run.pk)
        return _finish(run, error=str(exc))
    return _finish(run, promoted=promoted)


def _finish(run: RetrainRun, *, error: str = "", promoted: ModelVersion | None = None):
    run.status = RetrainRun.Status.FAILED if error else RetrainRun.Status.SUCCEEDED
    run.error, run.finished_at = error[:2000], timezone.now()
    run.promoted = promoted or run.promoted
    run.save(update_fields=["status", "error", "promoted", "finished_at"])
    return run


def _refuse_while_another_runs(run: RetrainRun) -> RetrainRun:
    busy = RetrainRun.objects.filter(status=RetrainRun.Status.RUNNING).exclude(pk=run.pk).first()
    which = f"run {busy.pk}" if busy else "another run"
    return _finish(
        run,
        error=f"Not run: {which} was retraining at the same time, on the same facts; "
        "request a retrain again once it has finished.",
    )


def _close_lost_runs(*, keep: RetrainRun) -> None:
    """Runs left running by workers that died, while another run started: they are closed
    rather than resumed later, behind a run that has read newer facts."""
    for lost in RetrainRun.objects.filter(status=RetrainRun.Status.RUNNING).exclude(pk=keep.pk):
        _finish(
            lost,
            error=f"Its worker was lost mid-run and run {keep.pk} started after it; "
            "the versions it registered are kept.",
        )


def _retrain(run: RetrainRun, *, at: datetime) -> ModelVersion | None:
    # The kinds this run registered before its worker was lost, with their decisions.
    done = {
        version.kind: version
        for version in run.candidates.prefetch_related("decisions__baseline").order_by("id")
    }
    resuming = bool(done)
    data = training.to_interactions(plays_as_of(at=at))
    if len(data) < MIN_TRAIN_PLAYS:
        raise RetrainError(
            f"Only {len(data)} plays in the fact log; at least {MIN_TRAIN_PLAYS} are needed to train."
        )
    horizon = datetime.fromtimestamp(float(data.timestamps.max()), tz=UTC)
    if resuming:  # production as this run found it, and its recipe's value on these facts
        first = min(next(iter(done.values())).decisions.all(), key=lambda d: d.pk)  # the gate's
        production, baseline_value = first.baseline, first.baseline_value
        baseline_ope = _baseline_figure(first)
    else:
        production = production_version()
    # A resumed run's own candidates are the newest judged versions: it goes on with them.
    newest = None if resuming else _newest_judged()
    if newest is not None and horizon <= newest.trained_as_of:
        role = "production" if production and newest.pk == production.pk else "judged by the gate"
        raise RetrainError(
            f"No plays newer than the data of v{newest.pk}, {role} "
            f"({newest.trained_as_of:%Y-%m-%d %H:%M}): nothing new to learn from."
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
    cut = datetime.fromtimestamp(split.cut, tz=UTC)
    evaluator, ope_skip, ope_n = _ope_evaluator(since=cut, until=at)
    if not resuming:
        baseline_value, baseline_model = (
            _production_value(production, split) if production else (None, None)
        )
        baseline_ope = None
        if evaluator is not None and baseline_model is not None:
            baseline_ope = _ope_figure(evaluator, baseline_model)
    promoted, to_canary = None, None
    # A model already serving members: what beats it goes to a canary. With none (the first
    # retrain), the run's best is promoted directly, as each later kind beats the one before.
    via_canary = settings.MODELING_PROMOTE_VIA_CANARY and production is not None
    canary_busy = _canary_busy() if via_canary else None
    for kind in settings.MODELING_CANDIDATES:
        version = done.get(kind)
        if version is None:
            version = _candidate(
                run,
                kind,
                split,
                data,
                items,
                horizon,
                production,
                baseline_value,
                ope_gate=(evaluator, baseline_ope, ope_skip, ope_n),
                via_canary=via_canary,
                canary_busy=canary_busy,
            )
        decision = version.decision
        logger.info("Candidate v%s (%s): %s", version.pk, kind, decision.reason)
        if decision.promoted or decision.canary:
            # The next kinds must beat it: the run's best goes to production or its canary.
            production, baseline_value = version, decision.candidate_value
            baseline_ope = _candidate_figure(decision)
            promoted, to_canary = (version, None) if decision.promoted else (promoted, version)
    if to_canary is not None:
        _canary_start(run, to_canary)
    return promoted


def _canary_busy() -> str | None:
    """Why the gate cannot start a canary now (an experiment runs on the model surface)."""
    from rollouts.selectors import model_surface_busy  # rollouts builds on this app

    return model_surface_busy()


def _newest_judged() -> ModelVersion | None:
    """The version trained on the newest facts. Production is not always it: a candidate
    that passed the gate may be in its canary, or waiting behind another canary. A retrain
    on no newer facts would only train and judge the same candidates again (fits are
    deterministic), so it refuses."""
    return ModelVersion.objects.order_by("-trained_as_of", "-id").first()


def _canary_start(run: RetrainRun, candidate: ModelVersion) -> None:
    """The run's best candidate against production, as a canary experiment (once per run:
    a resumed run finds the one it started)."""
    from rollouts.services import gate_canary_start

    experiment = gate_canary_start(run_id=run.pk, candidate=candidate, control=production_version())
    logger.info("Candidate v%s goes to canary experiment %s", candidate.pk, experiment.pk)


def canary_conclude(
    *, candidate: ModelVersion, control: ModelVersion | None, shipped: bool, reason: str
) -> PromotionDecision:
    """Record the verdict of a canary experiment on `candidate` (rollouts calls it when the
    canary ships or rolls back): shipped, it is the latest promoted decision, so production
    from now on; rolled back, production stays. The offline figures are the gate's, copied
    from its decision on the candidate, so the record reads whole."""
    gate = candidate.decisions.order_by("id").first()
    return PromotionDecision.objects.create(
        candidate=candidate,
        baseline=control,
        promoted=shipped,
        metric=gate.metric if gate else training.GATE_METRIC,
        candidate_value=gate.candidate_value if gate else None,
        baseline_value=gate.baseline_value if gate else None,
        reason=reason[:300],
        **{f: getattr(gate, f) for f in OPE_FIELDS} if gate else {},
    )


OPE_FIELDS = (
    "ope_impressions",
    "ope_candidate_value",
    "ope_candidate_low",
    "ope_candidate_high",
    "ope_candidate_ess",
    "ope_baseline_value",
    "ope_baseline_low",
    "ope_baseline_high",
    "ope_baseline_ess",
    "ope_note",
)


def _ope_evaluator(*, since: datetime, until: datetime):
    """The logged explored slots of the holdout period with their reward model, or (None,
    why the OPE check is skipped). Both models a decision compares were fitted on facts before
    `since`, so neither has seen the plays that are the rewards."""
    slots = ope.logged_slots(since=since, until=until)
    why = ope.too_few(len(slots))
    if why:
        return None, why, len(slots)
    rng = np.random.default_rng(settings.MODELING_SEED)
    return ope.evaluator(slots, rng=rng), "", len(slots)


def _ope_figure(evaluator: ope.Evaluator, model) -> ope.Figure | None:
    """The version's DR figure, or None when it or its interval is not a finite number."""
    scores = ope.version_scores(model, evaluator.slots)
    rng = np.random.default_rng(settings.MODELING_SEED)
    figure = ope.Figure.of(evaluator.estimate(scores, rng=rng))
    finite = np.isfinite([figure.value, figure.low, figure.high, figure.ess]).all()
    return figure if finite else None


def _ope_check(evaluator, baseline_ope, why: str, n: int, production, candidate_model) -> ope.Check:
    """The candidate's figure whenever the logs allow one (it becomes the baseline's if it is
    promoted), production's beside it, or why they cannot be compared."""
    if evaluator is None:
        return ope.skipped(n, why)
    figure = _ope_figure(evaluator, candidate_model)
    if figure is None:
        return ope.skipped(n, "the candidate's estimate or its interval is not finite")
    if production is None:
        return ope.Check(n, figure, None, "OPE skipped: no model in production to compare with")
    if baseline_ope is None:
        note = f"OPE skipped: production v{production.pk}'s policy could not be evaluated"
        return ope.Check(n, figure, None, note)
    return ope.Check(impressions=n, candidate=figure, baseline=baseline_ope)


def _figure(value, low, high, ess) -> ope.Figure | None:
    return None if value is None else ope.Figure(value, low, high, ess)


def _baseline_figure(decision: PromotionDecision) -> ope.Figure | None:
    d = decision
    return _figure(
        d.ope_baseline_value, d.ope_baseline_low, d.ope_baseline_high, d.ope_baseline_ess
    )


def _candidate_figure(decision: PromotionDecision) -> ope.Figure | None:
    d = decision
    return _figure(
        d.ope_candidate_value, d.ope_candidate_low, d.ope_candidate_high, d.ope_candidate_ess
    )


def _candidate(
    run: RetrainRun,
    kind: str,
    split: training.Split,
    data,
    items,
    horizon: datetime,
    production: ModelVersion | None,
    baseline_value: float | None,
    *,
    ope_gate: tuple = (None, None, "no OPE check was run", 0),
    via_canary: bool = False,
    canary_busy: str | None = None,
) -> ModelVersion:
    """Fit, judge, register and gate one candidate kind (registration and decision in one
    transaction, so a worker killed in between leaves neither)."""
    seed = settings.MODELING_SEED
    trial = training.trial_fit(kind, split, seed=seed)
    unfit = _score_problem(trial, split)
    metrics = training.holdout_metrics(trial, split)
    if unfit is None and metrics[training.GATE_METRIC] is None:
        raise RetrainError(
            f"No member in the holdout played a title new to them, so "
            f"{training.GATE_METRIC} cannot judge candidates; retrain after more plays."
        )
    metrics["holdout_cut"] = datetime.fromtimestamp(split.cut, tz=UTC).isoformat()
    metrics["production_value"] = baseline_value
    ope_check = _ope_check(*ope_gate, production, trial) if unfit is None else None
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
            run=run,
            kind=kind,
            model=final,
            metrics=metrics,
            trained_as_of=horizon,
            n_events=len(data),
        )
        unfit = unfit or _served_problem(version, split)
        promotion_decide(
            candidate=version,
            candidate_value=metrics[training.GATE_METRIC],
            baseline=production,
            baseline_value=baseline_value,
            refresh=refresh,
            unfit=unfit,
            ope_check=ope_check,
            via_canary=via_canary,
            canary_busy=canary_busy,
        )
    return ModelVersion.objects.prefetch_related("decisions").get(pk=version.pk)
