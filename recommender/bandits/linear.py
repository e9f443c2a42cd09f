"""The ridge regressions behind LinUCB and linear Thompson sampling: disjoint and hybrid.

Both model the expected reward of action ``a`` in context ``x`` (a d-vector) as linear.

**Disjoint** (Li et al. 2010, section 3.1): one ridge regression per action id,
``r = x . theta_a``, with ``A_a = l2 * I + sum x x^T`` and ``b_a = sum r x`` over the rows
where ``a`` was shown. An action never shown has the prior ``A_a = l2 * I, b_a = 0``: mean
0, variance ``x . x / l2``, the most uncertain of all, so an optimistic or sampling policy
tries it.

**Hybrid** (Li et al. 2010, section 3.2, Algorithm 2): ``r = z_a . beta + x . theta_a``,
where ``z_a = vec(x outer f_a)`` (``f_a`` the action's features, so ``z`` has ``d * f``
entries) carries what is *shared* across actions: how a context's entries interact with an
action's features. A title never shown gets its score from ``beta`` through its features,
which is what lets the explorer pick a new arrival on evidence. Joint ridge regression on
``(beta, theta_a for all a)`` with penalty ``l2``, solved by block elimination:

    A0 = l2 I + sum z z^T - sum_a B_a^T A_a^-1 B_a,    b0 = sum r z - sum_a B_a^T A_a^-1 b_a
    beta = A0^-1 b0,    theta_a = A_a^-1 (b_a - B_a beta),    B_a = sum_{rows of a} x z^T

which is what Li et al.'s incremental updates maintain; here the raw sums are stored and
``A0, b0`` derived from them after each update (exact, order-free). With ``w_a = B_a^T
A_a^-1 x`` and ``u_a = z_a - w_a``, the score's posterior mean and (unit-noise) variance are

    mean_a = u_a . beta + x . A_a^-1 b_a,       var_a = u_a^T A0^-1 u_a + x^T A_a^-1 x

(the variance is Li et al.'s ``s_{t,a}`` rearranged). For Thompson sampling the posterior
factorizes: ``beta ~ N(beta_hat, v^2 A0^-1)`` and, given ``beta``, each ``theta_a`` is
independent ``N(A_a^-1 (b_a - B_a beta), v^2 A_a^-1)``, so a draw of every score is
``u_a . beta + x . A_a^-1 b_a + v sqrt(x^T A_a^-1 x) eps_a`` (:meth:`Hybrid.betas` and
:mod:`recommender.bandits.thompson`).

**Weighting.** ``weights`` multiply each row's contribution (``importance_weighted``
policies pass ``1 / propensity``: the regression then fits the reward as if every action
had been shown uniformly, which matters when the linear model is misspecified; unweighted is
the papers' choice and has lower variance).

State is plain arrays: ``ids`` (m,) sorted, ``A`` (m, d, d), ``b`` (m, d), and for the
hybrid also ``B`` (m, d, k), ``shared_A`` (k, k) = ``l2 I + sum z z^T`` and ``shared_b``
(k,) = ``sum r z``. Derived inverses are cached and rebuilt after every change.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from recommender.bandits.base import Candidates, Feedback, State
from recommender.bandits.params import ConfiguredPolicy, Param, check_context, check_feedback


def _inverse(a: np.ndarray) -> np.ndarray:
    return np.linalg.inv(a) if len(a) else a.copy()


class Disjoint:
    """Per-action ridge regressions over the context (module docstring)."""

    def __init__(self, l2: float) -> None:
        self.l2 = l2
        self.dim: int | None = None
        self.ids = np.empty(0, np.int64)
        self.A = np.empty((0, 0, 0))
        self.b = np.empty((0, 0))
        self._refresh()

    def _refresh(self) -> None:
        self.A_inv = _inverse(self.A)  # (m, d, d)
        self.A_inv_b = np.einsum("mij,mj->mi", self.A_inv, self.b)  # (m, d)

    def check_dim(self, d: int) -> None:
        if self.dim is None:
            self.dim = d
            self.A = np.empty((0, d, d))
            self.b = np.empty((0, d))
            self._refresh()
        elif d != self.dim:
            raise ValueError(f"context has {d} entries; this policy's state has {self.dim}")

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Row of each id in the state, or -1 for an action never updated."""
        if not len(self.ids):
            return np.full(len(ids), -1)
        where = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        return np.where(self.ids[where] == ids, where, -1)

    def score(
        self, x: np.ndarray, ids: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n,) posterior mean ``x . theta_a`` and (n,) variance ``x^T A_a^-1 x``.

        ``rows``: ``lookup(ids)`` when the caller has it already.
        """
        self.check_dim(len(x))
        rows = self.lookup(ids) if rows is None else rows
        mean = np.zeros(len(ids))
        var = np.full(len(ids), x @ x / self.l2)  # the prior, for actions never shown
        seen = rows >= 0
        if seen.any():
            r = rows[seen]
            mean[seen] = self.A_inv_b[r] @ x
            # one (n d, d) x (d,) product: A_a^-1 x for every a at once, then . x
            var[seen] = (self.A_inv[r].reshape(-1, len(x)) @ x).reshape(-1, len(x)) @ x
        return mean, var

    def _grow(self, ids: np.ndarray) -> np.ndarray:
        """Rows for ``ids``, adding prior rows for new ones (keeps ``ids`` sorted)."""
        new = np.setdiff1d(ids, self.ids)
        if len(new):
            d = self.dim
            every = np.concatenate([self.ids, new])
            order = np.argsort(every, kind="stable")
            prior = np.broadcast_to(self.l2 * np.eye(d), (len(new), d, d))
            self.A = np.concatenate([self.A, prior])[order]
            self.b = np.concatenate([self.b, np.zeros((len(new), d))])[order]
            self._grow_extra(new, order)
            self.ids = every[order]
        return np.searchsorted(self.ids, ids)

    def _grow_extra(self, new: np.ndarray, order: np.ndarray) -> None:
        """Hook for the hybrid's per-action ``B``."""

    def update(self, x: np.ndarray, actions: np.ndarray, r: np.ndarray, w: np.ndarray) -> None:
        self.check_dim(x.shape[1])
        rows = self._grow(actions)
        np.add.at(self.A, rows, w[:, None, None] * x[:, :, None] * x[:, None, :])
        np.add.at(self.b, rows, (w * r)[:, None] * x)
        self._refresh()

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"ids": self.ids.copy(), "A": self.A.copy(), "b": self.b.copy()}

    def load_state_dict(self, state: State) -> None:
        ids, A, b = (np.asarray(state[key]) for key in ("ids", "A", "b"))
        m = len(ids)
        if A.ndim != 3 or A.shape[0] != m or A.shape[1] != A.shape[2] or b.shape != A.shape[:2]:
            raise ValueError(f"state arrays do not fit: ids {ids.shape}, A {A.shape}, b {b.shape}")
        if m and (np.diff(ids) <= 0).any():
            raise ValueError("state ids must be sorted and distinct")
        self.ids, self.A, self.b = ids.astype(np.int64), A.astype(np.float64), b.astype(float)
        self.dim = A.shape[1] if A.shape[1] or m else None
        self._refresh()


class Hybrid(Disjoint):
    """Shared ``beta`` over context x action features, plus per-action ``theta_a``."""

    def __init__(self, l2: float) -> None:
        self.features: int | None = None
        self.B = np.empty((0, 0, 0))
        self.shared_A = np.empty((0, 0))
        self.shared_b = np.empty(0)
        super().__init__(l2)

    @property
    def k(self) -> int:
        return (self.dim or 0) * (self.features or 0)

    def check_dims(self, d: int, f: int) -> None:
        if self.features is None:
            self.check_dim(d)
            self.features = f
            self.B = np.empty((0, d, self.k))
            self.shared_A = self.l2 * np.eye(self.k)
            self.shared_b = np.zeros(self.k)
            self._refresh()
        else:
            self.check_dim(d)
            if f != self.features:
                raise ValueError(
                    f"actions have {f} features; this policy's state has {self.features}"
                )

    def _refresh(self) -> None:
        super()._refresh()
        if not len(self.shared_A):
            self.beta = np.empty(0)
            self.shared_cov = np.empty((0, 0))
            self.C_T = np.empty((0, 0, 0))
            return
        C = np.einsum("mij,mjk->mik", self.A_inv, self.B)  # (m, d, k): A_a^-1 B_a
        self.C_T = np.ascontiguousarray(C.transpose(0, 2, 1))  # (m, k, d): w_a = C_T[a] x
        A0 = self.shared_A - np.einsum("mdi,mdk->ik", self.B, C)
        b0 = self.shared_b - np.einsum("mdi,md->i", self.B, self.A_inv_b)
        self.shared_cov = np.linalg.inv(A0)  # (k, k)
        self.shared_cov = (self.shared_cov + self.shared_cov.T) / 2
        self.beta = self.shared_cov @ b0
        self.shared_chol = np.linalg.cholesky(self.shared_cov)

    def _grow_extra(self, new: np.ndarray, order: np.ndarray) -> None:
        self.B = np.concatenate([self.B, np.zeros((len(new), self.dim, self.k))])[order]

    @staticmethod
    def z(x: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(n, d * f) ``vec(x outer f_a)`` for each action's features (n, f)."""
        return (x[..., :, None] * features[..., None, :]).reshape(*features.shape[:-1], -1)

    def parts(
        self, x: np.ndarray, ids: np.ndarray, features: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n, k) ``u_a``, (n,) ``x . A_a^-1 b_a`` and (n,) ``x^T A_a^-1 x`` (module doc)."""
        self.check_dims(len(x), features.shape[1])
        u = self.z(x, features)
        rows = self.lookup(ids)
        own_mean, own_var = super().score(x, ids, rows)
        seen = rows >= 0
        if seen.any():
            w = self.C_T[rows[seen]]  # (n_seen, k, d)
            u[seen] -= (w.reshape(-1, len(x)) @ x).reshape(len(w), -1)  # w_a = C_a^T x
        return u, own_mean, own_var

    def score_hybrid(
        self, x: np.ndarray, ids: np.ndarray, features: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n,) posterior mean and (n,) unit-noise variance of each action's reward."""
        u, own_mean, own_var = self.parts(x, ids, features)
        half = u @ self.shared_chol  # (n, k): u^T L, so |half|^2 = u^T A0^-1 u
        return u @ self.beta + own_mean, np.einsum("nk,nk->n", half, half) + own_var

    def betas(self, scale: float, draws: int, rng: np.random.Generator) -> np.ndarray:
        """(draws, k) float32 draws of the shared weights, ``N(beta_hat, scale^2 A0^-1)``."""
        eps = rng.standard_normal((draws, self.k), dtype=np.float32)
        return (self.beta + scale * (eps @ self.shared_chol.T.astype(np.float32))).astype(
            np.float32
        )

    def update_hybrid(
        self,
        x: np.ndarray,
        actions: np.ndarray,
        features: np.ndarray,
        r: np.ndarray,
        w: np.ndarray,
    ) -> None:
        self.check_dims(x.shape[1], features.shape[1])
        z = self.z(x, features)  # (m, k)
        rows = self._grow(actions)
        np.add.at(self.B, rows, w[:, None, None] * x[:, :, None] * z[:, None, :])
        self.shared_A += (w[:, None] * z).T @ z
        self.shared_b += (w * r) @ z
        Disjoint.update(self, x, actions, r, w)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {
            **super().state_dict(),
            "B": self.B.copy(),
            "shared_A": self.shared_A.copy(),
            "shared_b": self.shared_b.copy(),
        }

    def load_state_dict(self, state: State) -> None:
        B, shared_A, shared_b = (np.asarray(state[k]) for k in ("B", "shared_A", "shared_b"))
        A = np.asarray(state["A"])
        k = shared_A.shape[0] if shared_A.ndim == 2 else -1
        if (
            B.ndim != 3
            or shared_A.shape != (k, k)
            or shared_b.shape != (k,)
            or B.shape[0] != len(np.asarray(state["ids"]))
            or (B.shape[0] and B.shape[2] != k)
        ):
            raise ValueError(
                f"state arrays do not fit: B {B.shape}, shared_A {shared_A.shape}, "
                f"shared_b {shared_b.shape}"
            )
        d = A.shape[1] if A.ndim == 3 else 0
        self.B, self.shared_A, self.shared_b = B.astype(float), shared_A.astype(float), shared_b
        self.features = (k // d if d else None) if k else None
        self.shared_b = self.shared_b.astype(float)
        Disjoint.load_state_dict(self, state)
        if k and self.dim is not None and self.features is None:
            raise ValueError("hybrid state without a context dimension")


L2 = Param(
    "l2", float, 1.0, "ridge penalty: the prior precision of every weight; > 0", 0.0, None, True
)
IMPORTANCE_WEIGHTED = Param(
    "importance_weighted",
    bool,
    False,
    "weight each logged row by 1 / propensity in the ridge update (module docstring)",
)


class LinearPolicy(ConfiguredPolicy):
    """What LinUCB and Thompson sampling share: the ridge model, its update, its state.

    ``hybrid`` policies need ``Candidates.features`` at choose time and
    ``Feedback.action_features`` at update time.
    """

    hybrid: ClassVar[bool] = False
    l2: float
    floor: float
    importance_weighted: bool

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.model = Hybrid(self.l2) if self.hybrid else Disjoint(self.l2)

    def _features(self, candidates: Candidates) -> np.ndarray | None:
        if not self.hybrid:
            return None
        if candidates.features is None:
            raise ValueError(f"{self.name} needs candidates.features (the actions' features)")
        if not np.isfinite(candidates.features).all():
            raise ValueError(f"{self.name}: candidates.features must be finite")
        return candidates.features

    def posterior(self, context: np.ndarray, candidates: Candidates) -> tuple[np.ndarray, ...]:
        """(n,) posterior mean and (n,) unit-noise variance of each candidate's reward."""
        x = check_context(context)
        if self.hybrid:
            return self.model.score_hybrid(x, candidates.ids, self._features(candidates))
        return self.model.score(x, candidates.ids)

    def update(self, batch: Feedback) -> None:
        """Ridge updates from every row of ``batch`` (weighted if ``importance_weighted``)."""
        check_feedback(batch)
        x = np.asarray(batch.contexts, np.float64)
        actions = np.asarray(batch.actions, np.int64)
        r = np.asarray(batch.rewards, np.float64)
        w = 1.0 / np.asarray(batch.propensities, np.float64)
        w = w if self.importance_weighted else np.ones_like(w)
        if not len(batch):
            return
        if self.hybrid:
            if batch.action_features is None or len(batch.action_features) != len(batch):
                raise ValueError(f"{self.name} needs feedback action_features, one row each")
            features = np.asarray(batch.action_features, np.float64)
            self.model.update_hybrid(x, actions, features, r, w)
        else:
            self.model.update(x, actions, r, w)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def load_state_dict(self, state: State) -> None:
        needed = {"ids", "A", "b"} | ({"B", "shared_A", "shared_b"} if self.hybrid else set())
        if set(state) != needed:
            raise ValueError(
                f"{self.name} state needs exactly {', '.join(sorted(needed))}; "
                f"got {', '.join(sorted(state)) or 'nothing'}"
            )
        model = Hybrid(self.l2) if self.hybrid else Disjoint(self.l2)
        model.load_state_dict(state)
        self.model = model  # only once the whole state has loaded
