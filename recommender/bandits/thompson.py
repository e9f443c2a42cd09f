"""Linear Thompson sampling, disjoint (Chapelle and Li, NIPS 2011; Agrawal and Goyal, 2013).

Choose each action with the probability that it is the best: draw a reward model from its
posterior and take the argmax of the drawn scores. Chapelle and Li showed on display ads and
news that this simple rule matches or beats UCB; Agrawal and Goyal gave the linear version
its regret bound, with the posterior ``theta_a ~ N(theta_hat_a, v^2 A_a^-1)`` of a ridge
regression (:mod:`recommender.bandits.linear`), ``v`` = ``scale`` here. With disjoint
models a drawn score is ``x . theta_hat_a + v sqrt(x^T A_a^-1 x) eps_a``, independent
across actions.

**Rankings.** Position by position, each position with a *fresh* posterior draw: with
probability ``floor * n`` (``n`` remaining) a uniform pick, else the argmax over the
remaining actions of that position's draw. The probability of ``a`` given the positions
above is then ``floor + (1 - floor * n) * q(a)``, ``q(a)`` = P(a is the argmax of a fresh
draw over the remaining actions), which has no closed form.

**The Monte Carlo estimate.** ``q`` is estimated from ``draws`` further posterior draws,
independent of the deciding ones (the same ``draws`` serve every position, each masked to
its remaining actions): ``q_hat(a)`` is the share of them whose argmax is ``a``. It is
unbiased with standard error ``sqrt(q (1 - q) / draws)``; the floor keeps the logged value
at least ``floor`` when no draw picked the chosen action, which is why the floor must be
> 0 here. The :class:`~recommender.bandits.base.Choice` says ``estimated=True`` and
``draws``.

**Computing the estimate in one pass.** Each action's ``draws`` estimating draws are laid
out as one row, the rows in ranking order (the placed actions first, the never placed ones
reduced to their maximum): position j's action wins a draw when it beats the running
maximum of the rows below it, so every position's ``q_hat`` takes a few numpy calls, each
vectorized over the draws. The same numbers, drawn in the same order, as in
:meth:`Thompson.sample`'s (deciding + ``draws``, n) array, and the same comparisons:
the choices and propensities are those of ranking and estimating that array masked
argmax by masked argmax (a test checks it). An exact tie, or a NaN, goes through that
masked argmax loop, which keeps ``np.argmax``'s rules (the lower index wins a tie).

``choose_each`` (one variant per title) gives every group its own deciding draw and shares
the ``draws`` estimating draws across groups.

**One block of estimating normals for several decisions** (:class:`SharedNormals`). A
page makes several decisions (the row order, the explored slots, the artwork), each with
its own Monte Carlo estimate. Given ``normals=``, a decision takes its estimating noise
``eps`` from a block the decisions share (decision over n actions: the block's first n
columns) instead of drawing its own. Each estimate is still the share of ``draws``
independent posterior draws of its own actions, and the estimating draws play no part in
any choice (the deciding draws stay fresh for every decision), so every logged
probability means what it meant; only the errors of different decisions' estimates are
correlated, as ``choose_each``'s groups' are. A page then draws the normals of its widest
decision once, not of every decision.
"""

from __future__ import annotations

import math

import numpy as np

from recommender.bandits.base import Candidates, Choice
from recommender.bandits.linear import IMPORTANCE_WEIGHTED, L2, LinearPolicy
from recommender.bandits.params import Param, check_context

DRAWS = 200
"""Default number of Monte Carlo draws behind each estimated propensity."""


def _ordered_shares(ordered: np.ndarray, k: int) -> np.ndarray | None:
    """(k,) for each position j of a ranking, the share of the D draws in which its action
    beats every action left below it: the estimate of ``q`` at every position in one pass,
    instead of k masked argmaxes over (D, n).

    ``ordered`` (n, D) holds one row of draws per action, in ranking order: the k placed
    actions first, then the never placed ones (in any order). Row j wins draw d when it
    beats the maximum of the rows below it, which is one running maximum from the bottom
    once the never placed rows are reduced to their maximum (written into row k: the array
    is the caller's scratch). A full ranking's last action is the only one left, so it
    wins every draw. Every reduction runs along the rows of the contiguous (n, D) layout,
    each one vectorized over the D draws, where a (D, n) layout reduced n-wide rows one at
    a time (docs/benchmarks.md, the explorer's cost per page).

    None when an exact tie decides some draw: ``np.argmax`` breaks it by the lower action
    index, which `_masked_argmax_shares_loop` reproduces; continuous draws practically
    never tie, so that path is for exactness, not speed. ``ordered`` holds no NaN (the
    caller sends NaN through the loop too)."""
    n, draws = ordered.shape
    last = min(k, n - 1)  # positions with an action left below them
    if last == 0:
        return np.ones(k)
    if k < n - 1:
        ordered[k] = ordered[k:].max(axis=0)
    head = ordered[:last]
    below = np.maximum.accumulate(ordered[last:0:-1], axis=0)[::-1]  # max of rows j+1..last
    if (head == below).any():
        return None
    wins = np.count_nonzero(head > below, axis=1)
    return np.concatenate([wins / draws, np.ones(k - last)]) if last < k else wins / draws


def _masked_argmax_shares_loop(scores: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(k,) for each position j, the share of the rows of ``scores`` (D, n) whose argmax
    over the actions not in ``index[:j]`` is ``index[j]``, position by position (ties and
    NaN as ``np.argmax`` has them): the reference `_ordered_shares` equals."""
    scores = scores.copy()
    q = np.empty(len(index))
    for j, i in enumerate(index.tolist()):
        q[j] = np.mean(np.argmax(scores, axis=1) == i)  # placed columns are -inf
        scores[:, i] = -np.inf
    return q


def _rank_by_rows(
    deciding: np.ndarray,
    share: np.ndarray | list[float],
    rng: np.random.Generator,
    nan: bool | None = None,
) -> list[int]:
    """A ranking of k of the n columns of ``deciding`` (k, n): position j takes, with
    probability ``share[j]``, one of the remaining columns uniformly, else the argmax over
    the remaining ones of row j (ties: the first column, NaN the largest, as ``np.argmax``).

    Each row that decides by its argmax is sorted once (stable, descending), all in one
    call; row j's argmax over the remaining is the first of its order not placed above,
    which is among its first j + 1 entries, so only the first k columns of the orders are
    read, on Python lists, as are the k uniform decisions. ``nan``: whether ``deciding``
    holds a NaN, when the caller knows."""
    k, n = deciding.shape
    u, picks = rng.random((2, k)).tolist()
    share = share.tolist() if isinstance(share, np.ndarray) else share
    uniform = [a < b for a, b in zip(u, share, strict=True)]
    greedy = [j for j, at_random in enumerate(uniform) if not at_random]
    orders = iter(())
    if greedy:
        rows = deciding if len(greedy) == k else deciding[greedy]
        if nan or (nan is None and np.isnan(rows).any()):
            rows = np.where(np.isnan(rows), np.inf, rows)
        orders = iter(np.argsort(-rows, axis=1, kind="stable")[:, :k].tolist())
    free = list(range(n)) if len(greedy) < k else None
    placed: set[int] = set()
    index = []
    for j, at_random in enumerate(uniform):
        if at_random:
            left = len(free)
            i = free[min(int(picks[j] * left), left - 1)]
        else:
            for i in next(orders):
                if i not in placed:
                    break
        if free is not None:
            free.remove(i)
        placed.add(i)
        index.append(i)
    return index


class SharedNormals:
    """Standard normals for the Monte Carlo estimates of several decisions (module
    docstring): one for each page, never reused by another page (its estimates would then
    all err alike). Grown with fresh draws from the decision's generator when a decision
    needs more draws or more actions than the block holds so far.

    Held one row per action, (n, draws): a decision reads an action's draws as one
    contiguous row (`Thompson.choose` lays its estimating draws out by action). The
    normals are drawn in the (draws, n) order `take` returns them in, so a block holds the
    same numbers, in the same places, as one kept (draws, n)."""

    def __init__(self) -> None:
        self._rows = np.empty((0, 0), np.float32)  # (n, draws)

    def take(self, draws: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """(draws, n) float32 standard normals, read-only: the block's first ``draws``
        draws of its first ``n`` actions, each entry independent of the others (a
        transposed view: ``.T`` is (n, draws), each action's draws contiguous)."""
        have_n, have_draws = self._rows.shape
        if draws > have_draws or n > have_n:
            columns, rows = max(n, have_n), max(draws, have_draws)
            block = np.empty((columns, rows), np.float32)
            block[:have_n, :have_draws] = self._rows
            if columns > have_n:
                block[have_n:, :have_draws] = rng.standard_normal(
                    (have_draws, columns - have_n), dtype=np.float32
                ).T
            block[:, have_draws:] = rng.standard_normal(
                (rows - have_draws, columns), dtype=np.float32
            ).T
            block.flags.writeable = False
            self._rows = block
        return self._rows[:n, :draws].T


class Thompson(LinearPolicy):
    """Disjoint linear Thompson sampling with Monte Carlo propensities (module docstring)."""

    name = "thompson"
    PARAMS = (
        Param(
            "scale", float, 0.5, "v: posterior standard deviation multiplier; > 0", 0, None, True
        ),
        Param("draws", int, DRAWS, "Monte Carlo draws behind each logged propensity", 1, 100_000),
        L2,
        Param(
            "floor",
            float,
            1e-4,
            "least probability of every eligible action at every position; > 0 so an "
            "estimate is never 0 (floor * n <= 1)",
            0.0,
            1.0,
            True,
        ),
        IMPORTANCE_WEIGHTED,
    )
    scale: float
    draws: int

    def parts(
        self, context: np.ndarray, candidates: Candidates
    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """The posterior of each candidate's score, to draw from (module docstring).

        (n, k) float32 ``u_a`` of the hybrid model (None for disjoint), (n,) the mean of the
        score's own part and (n,) its standard deviation, ``scale * sqrt(x^T A_a^-1 x)``.
        A draw is ``u_a . beta + mean_a + sd_a * eps_a`` with ``beta`` from
        ``model.betas`` (hybrid; for disjoint the mean is the whole mean).
        """
        x = check_context(context)
        if self.hybrid:
            u, mean, var = self.model.parts(x, candidates.ids, self._features(candidates))
            return u.astype(np.float32), mean, self.scale * np.sqrt(var)
        mean, var = self.model.score(x, candidates.ids)
        return None, mean, self.scale * np.sqrt(var)

    def sample(
        self,
        context: np.ndarray,
        candidates: Candidates,
        draws: int,
        rng: np.random.Generator,
        normals: SharedNormals | None = None,
    ) -> np.ndarray:
        """(draws, n) float32 scores, each row one independent posterior draw of them all.

        ``normals``: the last ``self.draws`` rows (the estimating ones) take their noise
        from this shared block (module docstring), the rows above it fresh from ``rng``."""
        u, mean, sd = self.parts(context, candidates)
        n = len(mean)
        if normals is None:
            scores = rng.standard_normal((draws, n), dtype=np.float32)
        else:
            fresh = rng.standard_normal((draws - self.draws, n), dtype=np.float32)
            scores = np.concatenate([fresh, normals.take(self.draws, n, rng)])
        scores *= sd.astype(np.float32)  # in place: mean + sd * eps, float32 as before
        scores += mean.astype(np.float32)
        if u is not None:
            scores += self.model.betas(self.scale, draws, rng) @ u.T  # (D, k) @ (k, n)
        return scores

    def choose(
        self,
        context: np.ndarray,
        candidates: Candidates | np.ndarray,
        k: int,
        rng: np.random.Generator,
        *,
        normals: SharedNormals | None = None,
    ) -> Choice:
        """``k`` distinct actions, position by position, propensities estimated.

        ``normals``: the estimating noise from this block shared with the page's other
        decisions (module docstring); None: drawn for this decision alone."""
        candidates, k = self._candidates(candidates, k)
        n, floor, draws = len(candidates), self.floor, self.draws
        u, mean, sd = self.parts(context, candidates)
        mean, sd = mean.astype(np.float32), sd.astype(np.float32)
        # the normals in the order `sample` draws them: the deciding rows, the estimating
        # ones (fresh or the page's block), the hybrid's shared weights for both
        deciding = rng.standard_normal((k, n), dtype=np.float32)
        if normals is None:
            eps = rng.standard_normal((draws, n), dtype=np.float32)
        else:
            eps = normals.take(draws, n, rng)
        extra = None if u is None else self.model.betas(self.scale, k + draws, rng) @ u.T
        deciding *= sd  # in place: mean + sd * eps (+ u . beta), float32 as `sample` has it
        deciding += mean
        if extra is not None:
            deciding += extra[:k]
        # finite means, sds and shared parts give no NaN, at worst an overflow to inf. One
        # product tells: an inf or NaN in either makes it inf or NaN (inf * 0 is NaN), and
        # one that overflows from finite entries only sends the decision through the loop
        finite = math.isfinite(mean @ sd) and (extra is None or bool(np.isfinite(extra).all()))
        left = range(n, n - k, -1)  # actions remaining at each position
        index = _rank_by_rows(deciding, [floor * m for m in left], rng, not finite)
        q = None
        if finite:
            # the estimating draws one row per action, in ranking order (module docstring,
            # "Computing the estimate in one pass")
            taken = set(index)
            order = index + [a for a in range(n) if a not in taken] if k < n else index
            ordered = eps.T * sd[:, None]  # (n, D)
            ordered += mean[:, None]
            if extra is not None:
                ordered += extra[k:].T
            q = _ordered_shares(ordered[order], k)
        if q is None:  # a tie or a NaN: the masked argmaxes, position by position
            scores = eps * sd
            scores += mean
            if extra is not None:
                scores += extra[k:]
            q = _masked_argmax_shares_loop(scores, np.asarray(index, np.int64))
        # the floor mixed in on Python floats: k numbers, the same arithmetic as numpy's
        p = np.array([floor + (1 - floor * m) * s for m, s in zip(left, q.tolist(), strict=True)])
        return self._choice(candidates, index, p, estimated=True, draws=draws)

    def choose_each(
        self,
        context: np.ndarray,
        candidates: Candidates | np.ndarray,
        group_size: int,
        rng: np.random.Generator,
        *,
        normals: SharedNormals | None = None,
    ) -> Choice:
        """One action per group (see ``ConfiguredPolicy.choose_each``), estimated.

        Each group decides with its own posterior draw, so the groups' picks are independent
        given the state. The ``draws`` estimating draws are shared by the groups, their
        per-action noise too (``(draws, group_size)`` normals, not ``(draws, n)``): each
        group's estimate is still the mean over ``draws`` independent posterior draws of
        its own actions, which is all a marginal propensity needs; only the estimates'
        errors in different groups are correlated. ``normals``: that noise from the page's
        shared block (module docstring).
        """
        candidates = self._groups(candidates, group_size)
        u, mean, sd = self.parts(context, candidates)
        n, size = len(mean), group_size
        groups, rows = n // size, np.arange(n // size)
        eps = rng.standard_normal(n, dtype=np.float32)
        deciding = (mean + sd * eps).reshape(groups, size)
        if u is not None:
            betas = self.model.betas(self.scale, groups, rng)  # (G, k): one draw per group
            deciding += np.einsum("gk,gvk->gv", betas, u.reshape(groups, size, -1))
        index = np.argmax(deciding, axis=1)
        at_random = rng.random((2, groups))  # a uniform pick (floor * size), of which variant
        uniform = at_random[0] < self.floor * size
        index[uniform] = np.minimum((at_random[1, uniform] * size).astype(np.int64), size - 1)
        # the estimating draws variant by variant, each a (D, G) block of every group's
        # draws of that variant: the max over a group's V actions is then an elementwise
        # max of V blocks, and the (D, V, G) draws are never held at once
        mean_v, sd_v = (
            np.ascontiguousarray(a.reshape(groups, size).T, np.float32) for a in (mean, sd)
        )  # (V, G)
        if normals is None:
            shared_eps = rng.standard_normal((self.draws, size), dtype=np.float32)
        else:
            shared_eps = normals.take(self.draws, size, rng)
        extra = None
        if u is not None:
            u_by_variant = u.reshape(groups, size, -1).transpose(1, 0, 2).reshape(n, -1)
            betas = self.model.betas(self.scale, self.draws, rng)
            extra = (betas @ u_by_variant.T).reshape(self.draws, size, groups)
        best = np.empty((self.draws, groups), np.float32)
        block = np.empty_like(best)
        for v in range(size):
            np.multiply(sd_v[v], shared_eps[:, v : v + 1], out=block)
            block += mean_v[v]
            if extra is not None:
                block += extra[:, v]
            if v:
                np.maximum(best, block, out=best)
            else:
                best, block = block, best
        picked = sd_v[index, rows] * shared_eps[:, index] + mean_v[index, rows]  # (D, G)
        if extra is not None:
            picked += extra[:, index, rows]
        q = np.count_nonzero(picked >= best, axis=0) / self.draws  # share of draws it wins
        p = self.floor + (1 - self.floor * size) * q
        actions = candidates.ids.reshape(groups, size)[rows, index]
        return Choice(actions, p, self.name, estimated=True, draws=self.draws)

    def _estimate_groups(
        self, context: np.ndarray, candidates: Candidates, size: int, rng: np.random.Generator
    ) -> np.ndarray:
        """(G, size) share of ``draws`` independent posterior draws won by each action."""
        scores = self.sample(context, candidates, self.draws, rng)
        winners = np.argmax(scores.reshape(self.draws, -1, size), axis=2)  # (D, G)
        q = np.zeros((winners.shape[1], size))
        np.add.at(q, (np.broadcast_to(np.arange(winners.shape[1]), winners.shape), winners), 1)
        return q / self.draws

    def action_probabilities(
        self,
        context: np.ndarray,
        candidates: Candidates | np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """(n,) Monte Carlo estimate (``draws`` draws) of every candidate's ``k=1`` chance."""
        candidates = self._groups(candidates, len(Candidates.of(candidates)))
        n = len(candidates)
        return (
            self.floor
            + (1 - self.floor * n) * self._estimate_groups(context, candidates, n, rng)[0]
        )
