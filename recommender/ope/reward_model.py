"""A cross-fitted ridge reward model ``q(x, a)``: the direct method's half of the work.

The model is linear in standardized context features ``phi(x) = [1, x]`` (p = d + 1), with
coefficients shared in a hierarchy that each level shrinks toward the one above it:

    q(x, a) at slot c = phi(x) . (beta + beta_c + beta_{c,a})

``beta`` is fitted on all rows; ``beta_c`` on the residuals of slot c's rows; ``beta_{c,a}``
on the residuals of action a at slot c. Each level is a ridge regression with penalty
``l2`` (in rows: a group with n rows keeps about n / (n + l2) of its own intercept), so an
action seen a handful of times falls back on its slot's and the global fit instead of
fitting noise. With no positions logged there is one slot and the middle level is skipped.

**Cross-fitting** (Chernozhukov et al. 2018): rows are split into ``folds`` folds (whole
slates together), and the prediction for a row comes from the model fitted on the other
folds. A reward model that saw a row would predict that row's own noise, and the direct
method and DR would then be optimistic in a way no weighting can undo.

Everything is computed from per-(fold, slot, action) sufficient statistics ``sum phi phi^T``
and ``sum phi y`` (one ``np.bincount`` per entry), so fitting all folds costs one pass over
the data, and the levels chain exactly: the residual statistics of a level are
``b - A beta_above``. Fold f's statistics are the sum of the other folds'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROW_BLOCK = 1 << 16
"""Rows predicted at a time (bounds the (rows, actions) temporaries)."""
INTERCEPT_L2 = 1e-9
"""Relative penalty on the global intercept: all but none, so a fold with no rows solves to 0."""


@dataclass
class RewardModelConfig:
    """Settings of the cross-fitted ridge reward model."""

    l2: float = 10.0
    """Ridge penalty of every level, in rows of evidence (standardized features)."""
    folds: int = 5
    """Cross-fitting folds: each row is predicted by a model fitted on the other folds."""

    def __post_init__(self) -> None:
        if not self.l2 > 0:
            raise ValueError(f"l2 must be > 0, got {self.l2}")
        if self.folds < 2:
            raise ValueError(f"folds must be >= 2, got {self.folds}")


def assign_folds(
    n_rows: int, folds: int, rng: np.random.Generator, clusters: np.ndarray | None = None
) -> np.ndarray:
    """(n_rows,) fold of each row: balanced at random, all rows of a cluster in one fold."""
    if clusters is None:
        return rng.permutation(n_rows) % folds
    n_clusters = int(clusters.max()) + 1 if len(clusters) else 0
    return (rng.permutation(n_clusters) % folds)[clusters]


@dataclass(frozen=True, eq=False)
class CrossFitRewardModel:
    """Out-of-fold ridge reward models; fold f's coefficients never saw fold f's rows."""

    mean: np.ndarray
    """(d,) context means used to standardize."""
    scale: np.ndarray
    """(d,) context standard deviations (1 where a feature is constant)."""
    coefficients: np.ndarray
    """(F, C, A, p) summed coefficients beta + beta_c + beta_{c,a} of each fold's model."""
    folds: np.ndarray
    """(N,) fold of each training row."""

    @property
    def n_actions(self) -> int:
        return self.coefficients.shape[2]

    def features(self, contexts: np.ndarray) -> np.ndarray:
        """(n, p) ``[1, standardized x]``."""
        x = (contexts - self.mean) / self.scale
        return np.concatenate([np.ones((len(x), 1)), x], axis=1)

    def predict(
        self, contexts: np.ndarray, cells: np.ndarray, actions: np.ndarray, folds: np.ndarray
    ) -> np.ndarray:
        """(n,) q(x_i, a_i) at slot c_i, each row by the model of fold ``folds[i]``."""
        phi = self.features(contexts)
        return np.einsum("np,np->n", phi, self.coefficients[folds, cells, actions])

    def predict_all(self, contexts: np.ndarray, cells: np.ndarray, folds: np.ndarray) -> np.ndarray:
        """(n, A) q(x_i, a) for every action a."""
        out = np.empty((len(contexts), self.n_actions))
        for index, fold, cell in _blocks(folds, cells):
            phi = self.features(contexts[index])
            out[index] = phi @ self.coefficients[fold, cell].T  # (n_b, p) @ (p, A)
        return out

    def expected(
        self,
        contexts: np.ndarray,
        cells: np.ndarray,
        folds: np.ndarray,
        probabilities: np.ndarray,
    ) -> np.ndarray:
        """(n,) ``sum_a pi(a | x_i) q(x_i, a)`` without forming the (n, A) matrix of q.

        The (n, A) x (A, p) product runs in the probabilities' own precision (float32 from
        a file: 1e-7 relative, far below any estimator's noise), the rest in float64.
        """
        out = np.empty(len(contexts))
        dtype = probabilities.dtype if probabilities.dtype == np.float32 else np.float64
        for index, fold, cell in _blocks(folds, cells):
            by_feature = np.ascontiguousarray(self.coefficients[fold, cell].T, dtype)  # (p, A)
            for start in range(0, len(index), ROW_BLOCK):
                rows = index[start : start + ROW_BLOCK]
                phi = self.features(contexts[rows])
                # (n_b, A) x (p, A) -> (n_b, p); einsum's own loop, not a threaded BLAS call:
                # a product this thin stalls for milliseconds when a core is busy elsewhere.
                mixed = np.einsum("na,pa->np", probabilities[rows], by_feature)
                out[rows] = np.einsum("np,np->n", phi, mixed)
        return out


def _blocks(folds: np.ndarray, cells: np.ndarray):
    """Yield (row indices, fold, cell) for every (fold, cell) present."""
    n_cells = int(cells.max()) + 1 if len(cells) else 1
    key = folds.astype(np.int64) * n_cells + cells
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts, ends, strict=True):
        k = int(sorted_key[start])
        yield order[start:end], k // n_cells, k % n_cells


def feature_scaling(contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) per context column, with 1 for a constant column."""
    if not len(contexts):
        return np.zeros(contexts.shape[1]), np.ones(contexts.shape[1])
    scale = contexts.std(axis=0)
    return contexts.mean(axis=0), np.where(scale > 0, scale, 1.0)


def fit_reward_model(
    *,
    contexts: np.ndarray,
    cells: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    n_cells: int,
    n_actions: int,
    folds: np.ndarray,
    config: RewardModelConfig,
    n_folds: int | None = None,
    standardize: tuple[np.ndarray, np.ndarray] | None = None,
) -> CrossFitRewardModel:
    """Fit one ridge model per fold on the other folds' rows (see the module docstring).

    ``n_folds`` defaults to ``folds.max() + 1``; a fold with no rows still gets a model.
    ``standardize`` is ``(mean, scale)`` of the features, by default the contexts' own;
    pass it when a feature is computed from rewards, so that no row's reward reaches its
    own prediction even through a mean.
    """
    n_folds = int(folds.max()) + 1 if n_folds is None else n_folds
    if standardize is None:
        standardize = feature_scaling(contexts)
    mean, scale = standardize
    model = CrossFitRewardModel(mean, scale, np.zeros(0), folds)
    phi = model.features(contexts)
    p = phi.shape[1]
    n_keys = n_folds * n_cells * n_actions
    key = (folds.astype(np.int64) * n_cells + cells) * n_actions + actions
    gram = np.empty((n_keys, p, p))
    for i in range(p):
        for j in range(i, p):
            gram[:, i, j] = gram[:, j, i] = np.bincount(key, phi[:, i] * phi[:, j], n_keys)
    moment = np.stack([np.bincount(key, phi[:, i] * rewards, n_keys) for i in range(p)], 1)
    gram = gram.reshape(n_folds, n_cells, n_actions, p, p)
    moment = moment.reshape(n_folds, n_cells, n_actions, p)
    # Each fold's model is fitted on the sum of the other folds' statistics (summed, not
    # total minus own, so not even rounding carries a fold's rows into its own model).
    others = [np.arange(n_folds) != f for f in range(n_folds)]
    gram = np.stack([gram[keep].sum(axis=0) for keep in others])
    moment = np.stack([moment[keep].sum(axis=0) for keep in others])
    eye = np.eye(p)
    coefficients = np.zeros((n_folds, n_cells, n_actions, p))
    g_all, m_all = gram.sum(axis=(1, 2)), moment.sum(axis=(1, 2))  # (F, p, p), (F, p)
    penalty = config.l2 * np.diag(np.r_[INTERCEPT_L2, np.ones(p - 1)])
    beta = _solve(g_all + penalty, m_all)  # (F, p)
    coefficients += beta[:, None, None, :]
    if n_cells > 1:
        g_cell, m_cell = gram.sum(axis=2), moment.sum(axis=2)  # (F, C, p, p), (F, C, p)
        residual = m_cell - np.einsum("fcpq,fq->fcp", g_cell, beta)
        beta_cell = _solve(g_cell + config.l2 * eye, residual)  # (F, C, p)
        coefficients += beta_cell[:, :, None, :]
    residual = moment - np.einsum("fcapq,fcaq->fcap", gram, coefficients)
    coefficients = coefficients + _solve(gram + config.l2 * eye, residual)
    return CrossFitRewardModel(mean, scale, coefficients, folds)


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched ``a x = b`` for (..., p, p) and (..., p)."""
    return np.linalg.solve(a, b[..., None])[..., 0]
