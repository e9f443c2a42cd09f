"""Run every applicable estimator on a log and a target: the one call the CLI (and, later,
the promotion gate) makes.

:func:`evaluate_policy` takes a :class:`~recommender.ope.logs.BanditLog` and the (N, A)
matrix of target probabilities, fits the cross-fitted reward models once, computes the
single-decision estimators (per row) and, when slates are logged, the slate estimators and
the page estimator (per slate), then bootstraps all of them with shared resamples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recommender.ope import estimators, slate
from recommender.ope.bootstrap import REPLICATES, Estimate, with_intervals
from recommender.ope.examination import Examination, fit_examination, page_pbm_ips
from recommender.ope.logs import SUM_TOLERANCE, BanditLog
from recommender.ope.reward_model import (
    CrossFitRewardModel,
    RewardModelConfig,
    assign_folds,
    fit_reward_model,
)


@dataclass
class OPEConfig:
    """Settings of :func:`evaluate_policy`."""

    replicates: int = REPLICATES
    """Bootstrap replicates behind each 95% interval (0: no intervals)."""
    reward_model: RewardModelConfig = field(default_factory=RewardModelConfig)
    """The cross-fitted ridge reward model of DM, DR and their variants."""
    switch_tau: float | None = None
    """Switch-DR's weight threshold; ``None`` tunes it by estimated MSE."""
    shrink_lambda: float | None = None
    """DR-OS's shrinkage lambda; ``None`` tunes it by estimated MSE."""
    seed: int = 0
    """Seed of the folds and the bootstrap, when no generator is passed."""

    def __post_init__(self) -> None:
        if self.replicates < 0:
            raise ValueError(f"replicates must be >= 0, got {self.replicates}")
        if self.switch_tau is not None and not self.switch_tau > 0:
            raise ValueError(f"switch_tau must be > 0, got {self.switch_tau}")
        if self.shrink_lambda is not None and not self.shrink_lambda > 0:
            raise ValueError(f"shrink_lambda must be > 0, got {self.shrink_lambda}")


@dataclass(frozen=True, eq=False)
class OPEReport:
    """Every estimate of one target on one log, with what they should be compared to."""

    estimates: list[Estimate]
    logging_mean: dict[str, float]
    """The logging policy's own mean reward: ``{"row": ..., "slate": ...}`` (per unit)."""
    n_rows: int
    n_actions: int
    n_slates: int
    examination: Examination | None
    notes: list[str]
    """Estimators skipped and why."""

    def by_name(self) -> dict[str, Estimate]:
        return {e.name: e for e in self.estimates}

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "rows": self.n_rows,
            "actions": self.n_actions,
            "slates": self.n_slates,
            "logging_mean": self.logging_mean,
            "estimates": [
                {**e.as_dict(), "logging_mean": self.logging_mean[e.unit]} for e in self.estimates
            ],
            "notes": self.notes,
        }
        if self.examination is not None:
            theta = self.examination.theta
            out["examination"] = {
                "relative_to": "the most examined slot",
                "theta": [[None if np.isnan(v) else float(v) for v in row] for row in theta],
                "em_iterations": self.examination.iterations,
                "em_converged": self.examination.converged,
            }
        return out


def reward_model_for(
    log: BanditLog, *, config: OPEConfig, rng: np.random.Generator
) -> CrossFitRewardModel:
    """The cross-fitted reward model of ``log`` (folds of whole slates), to share with a
    target policy fitted on the same log (see :mod:`recommender.ope.policies`)."""
    folds = assign_folds(len(log), config.reward_model.folds, rng, log.slates)
    n_rows, n_positions = log.grid()
    return fit_reward_model(
        contexts=log.contexts,
        cells=log.cells(),
        actions=log.actions,
        rewards=log.rewards,
        n_cells=n_rows * n_positions,
        n_actions=log.n_actions,
        folds=folds,
        config=config.reward_model,
    )


def check_target(log: BanditLog, target: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``target`` is (N, A) of probabilities summing to 1."""
    if target.shape != (len(log), log.n_actions):
        raise ValueError(f"target must be ({len(log)}, {log.n_actions}), got {target.shape}")
    if not (np.isfinite(target).all() and target.min() >= 0):
        raise ValueError("target probabilities must be finite and >= 0")
    sums = target.sum(axis=1, dtype=np.float64)
    worst = int(np.argmax(np.abs(sums - 1)))
    if abs(sums[worst] - 1) > SUM_TOLERANCE + 1e-7:  # float32 storage adds at most 6e-8
        raise ValueError(f"target row {worst} sums to {sums[worst]:.9g}, not 1")


def evaluate_policy(
    log: BanditLog,
    target: np.ndarray,
    *,
    config: OPEConfig | None = None,
    rng: np.random.Generator | None = None,
    reward_model: CrossFitRewardModel | None = None,
) -> OPEReport:
    """Every applicable estimate of the target's value on ``log``, with 95% intervals.

    Single-decision estimators (ips, snips, dm, dr, switch-dr, dr-os) always, per row;
    slate estimators (iips, sips, pseudo-inverse, rips, cascade-dr) when ``log.slates`` is
    set, per slate;
    page-pbm as well when the rewards lie in [0, 1] (it needs the examination model).
    ``reward_model`` reuses a model from :func:`reward_model_for` on the same log.
    """
    config = config or OPEConfig()
    rng = rng if rng is not None else np.random.default_rng(config.seed)
    check_target(log, target)
    if reward_model is None:
        reward_model = reward_model_for(log, config=config, rng=rng)
    folds, cells = reward_model.folds, log.cells()
    rows = np.arange(len(log))
    weights = target[rows, log.actions].astype(np.float64) / log.propensities
    logged = reward_model.predict(log.contexts, cells, log.actions, folds)
    values = reward_model.expected(log.contexts, cells, folds, target)
    clusters = log.slates
    corrected = dict(
        rewards=log.rewards,
        weights=weights,
        logged_predictions=logged,
        target_values=values,
        clusters=clusters,
    )
    found = [
        estimators.ips(rewards=log.rewards, weights=weights, clusters=clusters),
        estimators.snips(rewards=log.rewards, weights=weights, clusters=clusters),
        estimators.direct_method(target_values=values, clusters=clusters),
        estimators.doubly_robust(**corrected),
        estimators.switch_dr(**corrected, tau=config.switch_tau),
        estimators.dr_shrinkage(**corrected, lam=config.shrink_lambda),
    ]
    logging_mean = {"row": float(log.rewards.mean())}
    notes: list[str] = []
    examination = None
    if log.slates is not None:
        layout = slate.slate_layout(log.slates, cells)
        logging_mean["slate"] = float(log.rewards.sum() / log.n_slates)
        found += [
            slate.independent_ips(rewards=log.rewards, weights=weights, layout=layout),
            slate.standard_slate_ips(rewards=log.rewards, weights=weights, layout=layout),
            slate.pseudo_inverse(rewards=log.rewards, weights=weights, layout=layout),
            slate.reward_interaction_ips(rewards=log.rewards, weights=weights, layout=layout),
        ]
        to_go, to_go_target = slate.cascade_reward_to_go(
            contexts=log.contexts,
            actions=log.actions,
            rewards=log.rewards,
            target=target,
            layout=layout,
            folds=folds,
            n_actions=log.n_actions,
            config=config.reward_model,
        )
        found.append(
            slate.cascade_dr(
                rewards=log.rewards,
                weights=weights,
                layout=layout,
                logged_predictions=to_go,
                target_values=to_go_target,
            )
        )
        if log.rewards.min() >= 0 and log.rewards.max() <= 1:
            examination = fit_examination(
                cells=cells,
                actions=log.actions,
                rewards=log.rewards,
                grid=log.grid(),
                n_actions=log.n_actions,
            )
            found.append(
                page_pbm_ips(
                    rewards=log.rewards,
                    actions=log.actions,
                    propensities=log.propensities,
                    target=target,
                    cells=cells,
                    layout=layout,
                    examination=examination,
                )
            )
        else:
            notes.append(
                "page-pbm skipped: the examination model needs rewards in [0, 1] "
                f"(they range over [{log.rewards.min():g}, {log.rewards.max():g}])"
            )
    if config.replicates:
        found = with_intervals(found, replicates=config.replicates, rng=rng)
    return OPEReport(
        estimates=found,
        logging_mean=logging_mean,
        n_rows=len(log),
        n_actions=log.n_actions,
        n_slates=log.n_slates,
        examination=examination,
        notes=notes,
    )
