"""Writes of the online experiments: create, start, stop, and the daily readouts with the
canary's steps.

Every bad input raises ValidationError naming the field and the value, before anything is
written; each write is one transaction, so nothing is stored half-made.

A readout is computed only for a whole simulated day behind the clock, once: rerunning the
readouts adds nothing (the experiment's row is locked for the work, and a (day, arm) is
written at most once, which the database enforces). After each day of a canary, its step
(recommender.abtest.canary) decides: hold, advance the share, ship, roll back, or stop with no
winner. A canary of a model version that ships makes it production through a
PromotionDecision (modeling.services.canary_conclude); one that rolls back leaves production
as it was, and says so in a decision of its own.
"""

import logging
import math
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from exploration import bandit
from modeling.models import ModelVersion
from modeling.selectors import production_version
from modeling.services import canary_conclude

from . import analysis, selectors
from .models import Arm, Experiment, ExperimentDecision, Readout, Surface

logger = logging.getLogger(__name__)

EXPLORER_FIELDS = ("policy", "rate", "floor", "positions", "params")


# --- create, start, stop ---------------------------------------------------------------------


def _arm_errors(surface: str, kind: str, arms: list[dict]) -> dict[str, list[str]]:
    """What is wrong with the arms, by field (empty: nothing)."""
    if not arms:
        return {"arms": ["An experiment needs arms."]}
    names = [a.get("name", "") for a in arms]
    controls = [a for a in arms if a.get("is_control")]
    if kind == Experiment.Kind.CANARY:
        if sorted(names) != ["candidate", "control"]:
            return {
                "arms": [
                    f"A canary has exactly two arms, named control and candidate; got "
                    f"{', '.join(map(repr, names))}."
                ]
            }
    elif len(controls) != 1:
        return {"arms": [f"Mark exactly one arm is_control; {len(controls)} are."]}
    if kind == Experiment.Kind.AB:
        shares = [(a["name"], a.get("share")) for a in arms]
        if any(not isinstance(s, int | float) for _, s in shares):
            return {"arms": ["Every arm of an A/B test needs a share (a number)."]}
        try:
            analysis.validate_shares(shares)
        except analysis.AbtestConfigError as exc:
            return {"arms": [str(exc)]}
        total = sum(s for _, s in shares)
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            listed = ", ".join(f"{n} {s:g}" for n, s in shares)
            return {"arms": [f"The arms' shares sum to {total:g} ({listed}); they must sum to 1."]}
    errors: dict[str, list[str]] = {}
    for arm in arms:
        label = f"arm {arm.get('name')!r}"
        if surface == Surface.MODEL:
            if arm.get("explorer"):
                errors.setdefault("arms", []).append(
                    f"{label}: a model experiment's arms name model versions, not explorers."
                )
            version = arm.get("model_version")
            if version is not None and not ModelVersion.objects.filter(pk=version).exists():
                errors.setdefault("arms", []).append(
                    f"{label}: unknown model version {version}; GET /api/v1/models lists them."
                )
        else:
            if arm.get("model_version") is not None:
                errors.setdefault("arms", []).append(
                    f"{label}: a {surface} experiment's arms name explorer policies, not models."
                )
            spec = arm.get("explorer") or {}
            if spec:
                problem = _explorer_problem(surface, spec)
                if problem:
                    errors.setdefault("arms", []).append(f"{label}: {problem}")
    return errors


def _explorer_problem(use: str, spec: dict) -> str | None:
    unknown = sorted(set(spec) - set(EXPLORER_FIELDS))
    if unknown:
        return f"unknown explorer field(s) {', '.join(unknown)}; use {', '.join(EXPLORER_FIELDS)}."
    if "policy" not in spec:
        return "an explorer needs a policy."
    if not isinstance(spec.get("params", {}), dict):
        return "explorer params must be an object of name: value."
    try:
        bandit.policy_build(
            use=use,
            policy=spec["policy"],
            rate=spec.get("rate", 0.1),
            floor=spec.get("floor", 0.0),
            params=spec.get("params") or {},
        )
    except bandit.ExplorerConfigError as exc:
        return f"{exc.field}: {exc}"
    return None


def _overlap(experiment_surface: str, exclude: int | None = None) -> dict[str, list[str]]:
    running = selectors.running_on(surface=experiment_surface, exclude=exclude)
    if running is None:
        return {}
    return {
        "surface": [
            f"Experiment {running.pk} ({running.name!r}) already runs on the {experiment_surface} "
            "surface and its members would overlap this one's (both take members by hash "
            "from the whole population); stop it first, or pick another surface."
        ]
    }


def experiment_create(
    *,
    name: str,
    surface: str,
    kind: str = Experiment.Kind.AB,
    arms: list[dict],
    created_by=None,
    source: str = "api",
    start: bool = False,
    at: datetime | None = None,
    gate: dict | None = None,
) -> Experiment:
    """Create an experiment with its arms (and start it at simulated time `at` if `start`).

    Arms: name, share (A/B: summing to 1), is_control, and model_version (a version id; none:
    production's) or explorer ({policy, rate, floor, positions, params}; none: production's).
    A canary has two arms, control and candidate, at the first of the canary steps."""
    errors: dict[str, list[str]] = {}
    if surface not in Surface.values:
        errors["surface"] = [f"Unknown surface {surface!r}; one of {', '.join(Surface.values)}."]
    if kind not in Experiment.Kind.values:
        errors["kind"] = [f"Unknown kind {kind!r}; one of {', '.join(Experiment.Kind.values)}."]
    if not name or not name.strip():
        errors["name"] = ["An experiment needs a name."]
    if errors:
        raise ValidationError(errors)
    errors = _arm_errors(surface, kind, arms)
    if not errors and start:
        errors = _overlap(surface)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        experiment = Experiment.objects.create(
            name=name.strip(),
            surface=surface,
            kind=kind,
            created_by=created_by,
            source=source,
            gate=gate or {},
        )
        for arm in arms:
            Arm.objects.create(
                experiment=experiment,
                name=arm["name"],
                share=arm.get("share") if kind == Experiment.Kind.AB else analysis.STEPS[-1],
                is_control=arm["name"] == "control"
                if kind == Experiment.Kind.CANARY
                else bool(arm.get("is_control")),
                model_version_id=arm.get("model_version"),
                explorer=arm.get("explorer") or {},
            )
        if start:
            _start(experiment, at=at, by=created_by)
    return experiment


def experiment_start(*, experiment_id: int, at: datetime | None = None, by=None) -> Experiment:
    """Start a draft experiment at simulated time `at` (default: the clock, the latest page
    served). Refused if another experiment runs on its surface."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment_id)
        if experiment.status != Experiment.Status.DRAFT:
            raise ValidationError(
                {
                    "status": [
                        f"Experiment {experiment.pk} is {experiment.status}; only a draft starts."
                    ]
                }
            )
        errors = _overlap(experiment.surface, exclude=experiment.pk)
        if errors:
            raise ValidationError(errors)
        _start(experiment, at=at, by=by)
    return experiment


def _clock(at: datetime | None) -> datetime:
    return at or selectors.simulated_now() or timezone.now()


def _start(experiment: Experiment, *, at: datetime | None, by) -> None:
    experiment.status = Experiment.Status.RUNNING
    experiment.started_at = _clock(at)
    fields = ["status", "started_at"]
    if experiment.kind == Experiment.Kind.CANARY:
        experiment.canary_step, experiment.canary_share = 0, analysis.STEPS[0]
        experiment.share_since_day = 0
        fields += ["canary_step", "canary_share", "share_since_day"]
    experiment.save(update_fields=fields)
    share = experiment.canary_share
    reason = (
        f"canary at {share:.0%} of members per arm" if experiment.kind == "canary" else "A/B test"
    )
    _decide(experiment, "start", f"started: {reason}", at=experiment.started_at, by=by)


def experiment_stop(*, experiment_id: int, at: datetime | None = None, by=None, reason=""):
    """Stop a running experiment: every member sees production from the next page. A model
    canary stopped by hand changes nothing in production and is recorded as not shipped."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment_id)
        if experiment.status != Experiment.Status.RUNNING:
            raise ValidationError(
                {"status": [f"Experiment {experiment.pk} is {experiment.status}, not running."]}
            )
        why = reason or "stopped by hand"
        _end(experiment, Experiment.Status.STOPPED, "stop", why, at=_clock(at), by=by)
    return experiment


def _decide(experiment, action, reason, *, at, day=None, by=None) -> ExperimentDecision:
    return ExperimentDecision.objects.create(
        experiment=experiment,
        action=action,
        reason=reason[:500],
        day=day,
        share=experiment.canary_share,
        at=at,
        by=by,
    )


def _end(experiment, status, action, reason, *, at, day=None, by=None) -> None:
    experiment.status, experiment.stopped_at = status, at
    experiment.save(update_fields=["status", "stopped_at"])
    _decide(experiment, action, reason, at=at, day=day, by=by)
    if experiment.surface == Surface.MODEL and experiment.kind == Experiment.Kind.CANARY:
        arms = {arm.name: arm for arm in experiment.arms.select_related("model_version")}
        candidate = arms["candidate"].model_version
        if candidate is not None:
            control = arms["control"].model_version or production_version()
            shipped = status == Experiment.Status.SHIPPED
            verdict = "shipped" if shipped else status.replace("_", " ")
            canary_conclude(
                candidate=candidate,
                control=control,
                shipped=shipped,
                reason=f"canary experiment {experiment.pk} ({experiment.name}) {verdict}: {reason}",
            )


def gate_canary_start(*, run_id: int, candidate: ModelVersion, control: ModelVersion | None):
    """The promotion gate's canary: `candidate` against production, started now on the
    simulated clock. Once per retrain run (a resumed run gets the one it started)."""
    existing = Experiment.objects.filter(source="gate", gate__run=run_id).first()
    if existing is not None:
        return existing
    return experiment_create(
        name=f"canary v{candidate.pk} ({candidate.kind}) vs production"
        + (f" v{control.pk}" if control else ""),
        surface=Surface.MODEL,
        kind=Experiment.Kind.CANARY,
        arms=[
            {
                "name": "control",
                "is_control": True,
                "model_version": control.pk if control else None,
            },
            {"name": "candidate", "model_version": candidate.pk},
        ],
        source="gate",
        start=True,
        gate={"run": run_id, "candidate": candidate.pk, "control": control.pk if control else None},
    )


# --- readouts --------------------------------------------------------------------------------


def readouts_all() -> dict[int, int]:
    """Read out every running experiment. Returns experiment id -> readouts written."""
    written = {}
    for experiment in Experiment.objects.filter(status=Experiment.Status.RUNNING).order_by("id"):
        written[experiment.pk] = len(readouts_compute(experiment_id=experiment.pk))
    return written


def readouts_compute(*, experiment_id: int, now: datetime | None = None) -> list[Readout]:
    """Write the readouts of every whole simulated day of the experiment not read out yet
    (then, for a canary, take its step after each). Idempotent: a rerun writes nothing."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment_id)
        if experiment.status != Experiment.Status.RUNNING:
            return []
        now = now or selectors.simulated_now()
        last = selectors.last_readout_day(experiment)
        written = []
        for day in range(
            (last + 1) if last is not None else 0, selectors.completed_days(experiment, now=now)
        ):
            readouts, primary, guardrails = _readout_day(experiment, day)
            written += readouts
            if experiment.kind == Experiment.Kind.CANARY:
                _canary_step(experiment, day, primary, guardrails)
                if experiment.status != Experiment.Status.RUNNING:
                    break
    return written


def _figure(estimate) -> dict:
    return {"mean": estimate.mean, "low": estimate.low, "high": estimate.high, "n": estimate.n}


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _readout_day(experiment: Experiment, day: int):
    """One day's readout of every arm; returns them, the canary candidate's primary result
    (None: too few members), and its guardrails."""
    values = selectors.arm_values(experiment, day=day)
    arms = list(values.values())
    control = next(v for v in arms if v.arm.is_control)
    canary = experiment.kind == Experiment.Kind.CANARY
    shares = [experiment.canary_share if canary else v.arm.share for v in arms]
    counts = [len(v.members) for v in arms]
    srm = analysis.srm(counts, [1.0] * len(arms) if canary else shares) if sum(counts) else None
    previous = {r.arm_id: r for r in Readout.objects.filter(experiment=experiment, day=day - 1)}
    alpha = _alpha()
    readouts, primary, guardrails = [], None, []
    for arm_values, share in zip(arms, shares, strict=True):
        metrics = {}
        for name in selectors.METRICS:
            try:
                metrics[name] = _figure(analysis.estimate(arm_values.values[name], alpha=alpha))
            except analysis.AbtestDataError:
                metrics[name] = None
        comparison, sequential_p = {}, None
        if arm_values is not control:
            prior = previous.get(arm_values.arm.pk)
            comparison = _compare(control, arm_values, prior, alpha)
            sequential_p = (comparison.get(selectors.PRIMARY) or {}).get("seq_p")
            if sequential_p is None and prior is not None:
                sequential_p = prior.sequential_p
        readouts.append(
            Readout.objects.create(
                experiment=experiment,
                arm=arm_values.arm,
                day=day,
                share=share,
                members=len(arm_values.members),
                metrics=metrics,
                comparison={k: v for k, v in comparison.items() if not k.startswith("_")},
                srm_p=_finite(srm.p_value) if srm else None,
                srm_mismatch=bool(srm.mismatch) if srm else False,
                sequential_p=sequential_p,
            )
        )
        if canary and arm_values.arm.name == "candidate":
            primary = comparison.get("_primary")
            latency = comparison.get("_latency")
            if latency is not None:
                guardrails.append(
                    analysis.Guardrail(
                        name="latency_ms",
                        result=latency,
                        higher_is_worse=True,
                        margin=_setting("ROLLOUTS_LATENCY_MARGIN"),
                    )
                )
    if srm is not None and srm.mismatch:
        logger.warning(
            "Experiment %s day %s: sample ratio mismatch (p=%s)", experiment.pk, day, srm.p_value
        )
    return readouts, primary, guardrails


SEQUENTIAL = {"minutes_per_day": "_primary", "latency_ms": "_latency"}


def _compare(control, treatment, prior: Readout | None, alpha: float) -> dict:
    """Treatment against control on each metric: fixed-horizon (CUPED on the primary, with
    each member's pre-experiment minutes), and always valid on the primary and the latency
    guardrail, carrying the previous day's p-value and confidence sequence (its running
    intersection)."""
    out: dict = {}
    before = prior.comparison if prior is not None else {}
    for name in selectors.METRICS:
        pre = {}
        if name == selectors.PRIMARY and control.pre and treatment.pre:
            pre = {"control_pre": control.pre, "treatment_pre": treatment.pre}
        try:
            c = analysis.compare(control.values[name], treatment.values[name], alpha=alpha, **pre)
        except analysis.AbtestDataError:
            continue
        figure = {
            "diff": c.diff,
            "low": c.low,
            "high": c.high,
            "p_value": c.p_value,
            "relative": _finite(c.relative),
            "cuped": c.cuped,
        }
        if name in SEQUENTIAL:
            last = before.get(name) or {}
            s = analysis.sequential(
                control.values[name],
                treatment.values[name],
                alpha=alpha,
                previous_p=_or(last.get("seq_p"), 1.0),
                previous_low=_or(last.get("seq_low"), -math.inf),
                previous_high=_or(last.get("seq_high"), math.inf),
                **pre,
            )
            figure.update(seq_low=s.low, seq_high=s.high, seq_p=s.p_value)
            out[SEQUENTIAL[name]] = s
        out[name] = {k: (_finite(v) if isinstance(v, float) else v) for k, v in figure.items()}
    return out


def _or(value: float | None, default: float) -> float:
    """A stored figure, or `default` where none was stored (JSON holds no infinity)."""
    return default if value is None else value


def _setting(name: str):
    from django.conf import settings

    return getattr(settings, name)


def _alpha() -> float:
    return _setting("ROLLOUTS_ALPHA")


def _canary_step(experiment: Experiment, day: int, primary, guardrails) -> None:
    """Take the canary's step after day `day`'s readout, and record it."""
    at = experiment.started_at + (day + 1) * selectors.DAY
    steps = analysis.STEPS
    days_at_share = day - experiment.share_since_day + 1
    if primary is None:  # too few members in an arm to judge anything yet
        last = experiment.canary_step >= len(steps) - 1
        if days_at_share >= _setting("ROLLOUTS_CANARY_MIN_DAYS") and not last:
            action, share = "advance", steps[experiment.canary_step + 1]
            reason = (
                f"too few members to judge at {experiment.canary_share:.0%} (fewer than 2 in "
                f"an arm) and nothing breached; advancing to {share:.0%}"
            )
        else:
            action, share, reason = "hold", experiment.canary_share, "too few members to judge"
    else:
        step = analysis.canary_step(
            share=experiment.canary_share,
            steps=steps,
            days_at_share=days_at_share,
            min_days=_setting("ROLLOUTS_CANARY_MIN_DAYS"),
            primary=primary,
            guardrails=guardrails,
            alpha=_alpha(),
            max_days=_setting("ROLLOUTS_CANARY_MAX_DAYS"),
            days_total=day + 1,
        )
        action, share, reason = step.action, step.share, step.reason
    if action == "advance":
        experiment.canary_step = min(experiment.canary_step + 1, len(steps) - 1)
        experiment.canary_share, experiment.share_since_day = share, day + 1
        experiment.save(update_fields=["canary_step", "canary_share", "share_since_day"])
    ends = {
        "ship": Experiment.Status.SHIPPED,
        "rollback": Experiment.Status.ROLLED_BACK,
        "stop": Experiment.Status.STOPPED,
    }
    if action in ends:
        _end(experiment, ends[action], action, reason, at=at, day=day)
    else:
        _decide(experiment, action, reason, at=at, day=day)


def shipped_versions(*, experiment_ids: list[int]) -> list[int]:
    """The candidate versions of those experiments that shipped on the model surface and
    have no stored embeddings yet (the task queues them)."""
    return list(
        Arm.objects.filter(
            experiment_id__in=experiment_ids,
            experiment__status=Experiment.Status.SHIPPED,
            experiment__surface=Surface.MODEL,
            name="candidate",
            model_version__isnull=False,
            model_version__embedding_set__isnull=True,
        ).values_list("model_version_id", flat=True)
    )
