"""Every estimator of recommender.ope on a replication's logs, and the examination EM finds.

The log handed to the library is what the platform would log: one row per slot, with the
context (kids profile, and the time of day and of week from ``recommender.features``, the
features serving logs), the title shown, its reward, the logging policy's exact propensity,
the slot's row and position, and the page as the slate. The target is the (rows, titles)
matrix of the target's probabilities.

On the epsilon-greedy log: :func:`~recommender.ope.evaluate_policy`'s estimators except
page-pbm, plus

- ``snips-page`` and ``dr-page``: the library's ``snips`` and ``doubly_robust`` with the
  *page* as the decision. The page's weight is the product of its slots' weights (exact,
  because slots are filled independently), its reward the sum of its slots' rewards, and
  DR's model of a page the sum of the cross-fitted per-slot predictions. They assume
  nothing about how slots interact, so they are unbiased for the true value; the price is
  the product of weights (for the greedy target only pages the logger left entirely greedy
  count: the replay method of Li et al. 2011).

page-pbm is left out there: it is unbiased only if every title the target shows anywhere on
the page could have been logged at every slot, and per-slot pools allow a title at one slot
per visit (on these logs it returns a theta-weighted *average* of the slots' values instead
of their sum). It runs on the shuffled log instead, where every title can be at every slot:
``page-pbm-shuffled``, with the examination EM fits on that log, beside ``iips-shuffled``.

Per-row estimates (mean reward per slot) are multiplied by the slots per page, so every
number is on one scale: reward per page.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from recommender.features import cyclic_time
from recommender.ope import (
    BanditLog,
    Estimate,
    Examination,
    OPEConfig,
    doubly_robust,
    evaluate_policy,
    fit_examination,
    independent_ips,
    page_pbm_ips,
    reward_model_for,
    slate_layout,
    snips,
    with_intervals,
)
from simulator.behaviour import examination_probabilities
from simulator.experiments.ope_validation.simulation import SeedLog, Setup, Shown

ESTIMATORS = (
    "ips",
    "snips",
    "dm",
    "dr",
    "switch-dr",
    "dr-os",
    "iips",
    "sips",
    "pseudo-inverse",
    "rips",
    "cascade-dr",
    "snips-page",
    "dr-page",
    "iips-shuffled",
    "page-pbm-shuffled",
)
"""Every estimate of a target, in table order."""


def contexts(setup: Setup, members: np.ndarray, at: np.ndarray) -> np.ndarray:
    """(V, 5) what the platform knows of each visit: kids profile, time of day and week."""
    kids = np.array([m.is_kids for m in setup.world.members], dtype=np.float64)[members]
    return np.column_stack([kids, cyclic_time(at).astype(np.float64)])


def bandit_log(
    setup: Setup, log: SeedLog, shown: Shown, propensities: np.ndarray | None = None
) -> BanditLog:
    """The rows the platform would log for pages ``shown``: one row per slot, in reading
    order within each page (``propensities`` (V, K) replaces the logged ones)."""
    v, k = shown.titles.shape
    cells = np.tile(np.arange(k), v)
    return BanditLog(
        contexts=np.repeat(contexts(setup, log.members, log.at), k, axis=0),
        actions=shown.titles.ravel().astype(np.int64),
        action_ids=np.arange(setup.world.n_titles, dtype=np.int64),
        rewards=shown.rewards.ravel(),
        propensities=(shown.propensities if propensities is None else propensities).ravel(),
        positions=cells % setup.config.slots,
        rows=cells // setup.config.slots,
        slates=np.repeat(np.arange(v), k),
    )


def target_matrix(pools: np.ndarray, probabilities: np.ndarray, n_titles: int) -> np.ndarray:
    """(V * K, n_titles) float32: each slot's probability of every title (0 off its pool)."""
    v, k, pool = pools.shape
    out = np.zeros((v * k, n_titles), np.float32)
    out[np.arange(v * k)[:, None], pools.reshape(v * k, pool)] = probabilities.reshape(v * k, pool)
    return out


def fit_page_examination(log: BanditLog) -> Examination:
    """EM on the position-based model over ``log``'s rows (recommender.ope.fit_examination)."""
    return fit_examination(
        cells=log.cells(),
        actions=log.actions,
        rewards=log.rewards,
        grid=log.grid(),
        n_actions=log.n_actions,
    )


def true_examination(shown: Shown, grid: tuple[int, int]) -> np.ndarray:
    """(rows, positions) share of pages whose slot the member examined, relative to the
    most examined slot: what only the simulator knows, on the scale EM reports."""
    rate = shown.examined.mean(axis=0).reshape(grid)
    return rate / rate.max()


def estimate_replication(
    setup: Setup,
    log: SeedLog,
    *,
    rng: np.random.Generator,
    targets: tuple[str, ...] | None = None,
    propensity_override: float | None = None,
) -> tuple[dict[str, dict[str, Estimate]], dict[str, np.ndarray]]:
    """Every estimate of each of ``targets`` (None: all the log has) on one replication,
    and the examination grids.

    Returns ``({target: {estimator: Estimate on the page scale}}, {grid name: (rows,
    positions)})``. ``propensity_override`` replaces every logged propensity of the
    epsilon-greedy log by that number: the broken logger the tests use to show a check fails.
    """
    c = setup.config
    k, grid = c.n_slots, (c.rows, c.slots)
    override = None
    if propensity_override is not None:
        override = np.full(log.logged.titles.shape, propensity_override)
    data = bandit_log(setup, log, log.logged, override)
    config = OPEConfig(replicates=c.replicates, seed=c.seed)
    model = reward_model_for(data, config=config, rng=rng)
    grids = {
        "analytic": _relative(examination_probabilities(grid, setup.stateless)),
        "true (epsilon-greedy pages)": true_examination(log.logged, grid),
        "EM (epsilon-greedy log)": fit_page_examination(data).theta,
    }
    shuffled = examination = None
    if log.shuffled is not None:
        shuffled = bandit_log(setup, log, log.shuffled)
        examination = fit_page_examination(shuffled)
        grids["true (shuffled pages)"] = true_examination(log.shuffled, grid)
        grids["EM (shuffled log)"] = examination.theta
    cells, folds = data.cells(), model.folds
    out: dict[str, dict[str, Estimate]] = {}
    for name in log.targets if targets is None else targets:
        target = target_matrix(log.pools, log.targets[name].probabilities, data.n_actions)
        report = evaluate_policy(data, target, config=config, rng=rng, reward_model=model)
        weights = target[np.arange(len(data)), data.actions] / data.propensities
        page_weights = weights.reshape(-1, k).prod(axis=1)  # rows are slot-ordered per page
        page_rewards = data.rewards.reshape(-1, k).sum(axis=1)
        logged_q = model.predict(data.contexts, cells, data.actions, folds).reshape(-1, k)
        target_q = model.expected(data.contexts, cells, folds, target).reshape(-1, k)
        page_dr = doubly_robust(
            rewards=page_rewards,
            weights=page_weights,
            logged_predictions=logged_q.sum(axis=1),
            target_values=target_q.sum(axis=1),
        )
        extra = [
            replace(snips(rewards=page_rewards, weights=page_weights), name="snips-page"),
            replace(page_dr, name="dr-page"),
        ]
        extra = [replace(e, unit="slate", ess_unit="slates") for e in extra]
        if shuffled is not None:
            extra += _shuffled_estimates(shuffled, target, examination)
        found = [e for e in report.estimates if e.name != "page-pbm"]
        found += with_intervals(extra, replicates=c.replicates, rng=rng)
        out[name] = {e.name: _per_page(e, k) for e in found}
    return out, grids


def _shuffled_estimates(
    log: BanditLog, target: np.ndarray, examination: Examination
) -> list[Estimate]:
    """page-pbm and iips on the shuffled log (its rows are the same visits and slots as the
    epsilon-greedy log's, so the same target matrix serves)."""
    layout = slate_layout(log.slates, log.cells())
    weights = target[np.arange(len(log)), log.actions] / log.propensities
    pbm = page_pbm_ips(
        rewards=log.rewards,
        actions=log.actions,
        propensities=log.propensities,
        target=target,
        cells=log.cells(),
        layout=layout,
        examination=examination,
    )
    iips = independent_ips(rewards=log.rewards, weights=weights, layout=layout)
    return [replace(pbm, name="page-pbm-shuffled"), replace(iips, name="iips-shuffled")]


def _per_page(estimate: Estimate, slots: int) -> Estimate:
    """A per-row estimate scaled to reward per page (slate estimates are already)."""
    if estimate.unit != "row":
        return estimate
    low, high = estimate.ci95 or (np.nan, np.nan)
    return replace(
        estimate, value=estimate.value * slots, ci95=(low * slots, high * slots), unit="slate"
    )


def _relative(theta: np.ndarray) -> np.ndarray:
    return theta / theta.max()
