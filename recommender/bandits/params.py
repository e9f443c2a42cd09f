"""Validated policy parameters, the floor, and the ranking samplers the policies share.

Every policy declares its parameters as a tuple of :class:`Param` (name, type, default,
allowed range, one line of doc). The same declaration validates a constructor call, gives
the JSON-able ``config`` a policy is rebuilt from (``make_policy(name, **config)``), and is
what :func:`recommender.bandits.policy_params` shows the platform's admin. A bad value
raises :class:`~recommender.bandits.base.BanditConfigError` naming the policy, the parameter
and the value.

**The floor** (module docstring of :mod:`recommender.bandits.base`): at every position the
policy's own distribution ``q`` over the ``n`` remaining actions is mixed with a uniform one,

    p(a) = floor + (1 - floor * n) * q(a),

so every remaining action has at least ``floor`` and the probabilities still sum to 1. This
needs ``floor * n <= 1``, which only the candidate count at choose time can tell:
:func:`check_floor` raises BanditConfigError there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from recommender.bandits.base import BanditConfigError, Candidates, Choice, Feedback

Value = float | int | bool | str


@dataclass(frozen=True)
class Param:
    """One parameter of a policy: its type, default, allowed range and meaning."""

    name: str
    """The keyword, as in ``make_policy(policy, name=value)`` and the policy's ``config``."""
    kind: type
    """float, int, bool or str."""
    default: Value
    """Used when the parameter is not given."""
    doc: str
    """One line: what it does, for the admin."""
    low: float | None = None
    """Smallest allowed value (numbers), or None."""
    high: float | None = None
    """Largest allowed value (numbers), or None."""
    low_open: bool = False
    """True when ``low`` itself is not allowed (e.g. a temperature > 0)."""
    choices: tuple[str, ...] | None = None
    """Allowed values (str parameters), or None."""

    def check(self, policy: str, value: Any) -> Value:
        """``value`` converted to ``kind``, or BanditConfigError naming it."""
        where = f"{policy}: {self.name}={value!r}"
        if self.kind is bool:
            if not isinstance(value, bool | np.bool_):
                raise BanditConfigError(f"{where} must be true or false")
            return bool(value)
        if self.kind is str:
            if not isinstance(value, str):
                raise BanditConfigError(f"{where} must be a string")
            if self.choices is not None and value not in self.choices:
                raise BanditConfigError(f"{where} is not one of {', '.join(self.choices)}")
            return value
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            raise BanditConfigError(f"{where} must be a number")
        if self.kind is int:
            if float(value) != int(value):
                raise BanditConfigError(f"{where} must be a whole number")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise BanditConfigError(f"{where} must be finite")
        too_low = self.low is not None and (
            value <= self.low if self.low_open else value < self.low
        )
        too_high = self.high is not None and value > self.high
        if too_low or too_high:
            raise BanditConfigError(f"{where} is outside {self.interval()}")
        return value

    def interval(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{'(' if self.low_open or self.low is None else '['}{low}, {high}]".replace(
            "inf]", "inf)"
        )

    def describe(self) -> dict[str, Any]:
        """JSON-able description (what ``policy_params`` returns for each parameter)."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.kind.__name__,
            "default": self.default,
            "doc": self.doc,
        }
        if self.kind in (int, float):
            out["min"], out["max"], out["min_exclusive"] = self.low, self.high, self.low_open
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out


FLOOR = Param(
    "floor",
    float,
    1e-4,
    "least probability of every eligible action at every position (floor * n <= 1)",
    0.0,
    1.0,
)
"""The floor, as most policies declare it (epsilon-greedy defaults it to 0)."""


def validate(policy: str, params: tuple[Param, ...], given: Mapping[str, Any]) -> dict[str, Value]:
    """Every parameter of ``policy``, checked, defaults filled in; unknown names rejected."""
    known = {p.name: p for p in params}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise BanditConfigError(
            f"{policy}: unknown parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; known: {', '.join(known) or 'none'}"
        )
    return {p.name: p.check(policy, given.get(p.name, p.default)) for p in params}


def check_floor(policy: str, floor: float, n: int) -> None:
    """BanditConfigError when ``floor`` cannot be given to each of ``n`` candidates."""
    if floor * n > 1 + 1e-12:
        raise BanditConfigError(
            f"{policy}: floor={floor:g} with {n} candidates gives floor * n = {floor * n:.4g} "
            f"> 1, so the probabilities could not sum to 1; use a floor of at most {1 / n:.4g}"
        )


def check_k(n: int, k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= n:
        raise ValueError(f"k={k!r} must be a whole number in [1, {n}] (the candidate count)")
    return int(k)


def check_context(context: np.ndarray, dim: int | None = None) -> np.ndarray:
    x = np.asarray(context, np.float64).reshape(-1)
    if not np.isfinite(x).all():
        raise ValueError("context must be finite")
    if dim is not None and len(x) != dim:
        raise ValueError(f"context has {len(x)} entries; this policy's state has {dim}")
    return x


def scores_of(policy: str, candidates: Candidates) -> np.ndarray:
    """The candidates' model scores, which ``policy`` needs: present and finite."""
    if candidates.scores is None:
        raise ValueError(f"{policy} needs candidates.scores (the model's scores)")
    if not np.isfinite(candidates.scores).all():
        raise ValueError(f"{policy}: candidates.scores must be finite")
    return candidates.scores


def check_feedback(batch: Feedback) -> None:
    m = len(batch)
    if batch.contexts.ndim != 2 or len(batch.contexts) != m:
        raise ValueError(f"feedback contexts must be (m, d) with m={m}")
    for name in ("rewards", "propensities"):
        if np.shape(getattr(batch, name)) != (m,):
            raise ValueError(f"feedback {name} must have shape ({m},)")
    p = np.asarray(batch.propensities, np.float64)
    if not ((p > 0) & (p <= 1)).all():
        raise ValueError("feedback propensities must lie in (0, 1]")
    if not np.isfinite(batch.rewards).all() or not np.isfinite(batch.contexts).all():
        raise ValueError("feedback rewards and contexts must be finite")


def remaining_rows(n: int, index: np.ndarray) -> np.ndarray:
    """(k, n) bool: row ``j`` marks the indices still remaining at position ``j`` of the
    ranking ``index`` (k,), i.e. those not in ``index[:j]`` (``index[j]`` itself included)."""
    k = len(index)
    placed_at = np.full(n, k)
    placed_at[index] = np.arange(k)
    return placed_at >= np.arange(k)[:, None]


def with_floor(q: np.ndarray, left: np.ndarray, floor: float) -> np.ndarray:
    """The logged probability of actions whose own probability is ``q`` at positions where
    ``left`` actions remain: the floor mixed in (module docstring)."""
    return floor + (1.0 - floor * left) * q


def report(
    p: np.ndarray, q: np.ndarray, index: np.ndarray, floor: float, left: np.ndarray
) -> np.ndarray:
    """(k,) what a ranking logs: ``p``, the probability of ``index[j]`` at position ``j``
    given those above (``q``: the policy's own probability of it there, before the floor;
    ``left``: how many actions remained there).

    Returns ``p`` itself; it is a seam for the propensity tests, which replace it with
    wrong formulas of the others (tests/recommender/bandits/broken.py) to check that the
    chi-square test rejects each."""
    return p


def rank_greedy_or_uniform(
    order: np.ndarray, share: list[float], uniforms: list[list[float]]
) -> tuple[list[int], list[bool]]:
    """A ranking of ``k = len(share)`` of the indices in ``order`` (all n, best first): the
    k indices and, for each, whether it was the first remaining in ``order``.

    Position ``j`` takes, when ``uniforms[0][j] < share[j]``, the ``int(uniforms[1][j] *
    remaining)``-th remaining index (a uniform pick), and otherwise the first remaining one
    in ``order``. This is the sampler behind every ranking whose per-position distribution
    is "the best remaining, or uniform": epsilon-greedy and LinUCB over their scores
    (``order`` the stable descending sort, so ties go to the first index as ``np.argmax``
    breaks them), and Plackett-Luce over Gumbel-perturbed logits
    (:mod:`recommender.bandits.softmax`: the first remaining by ``logit + Gumbel`` is a
    Plackett-Luce draw over the remaining, given any picks above it). ``uniforms``: two
    uniform draws per position, ``rng.random((2, k)).tolist()``.

    On Python lists, k numbers: a ranking is at most a few dozen positions, where numpy's
    per-call cost would be most of the time. Until a position draws uniformly (at small
    floors usually none does) position j's first remaining is ``order[j]``, so ``order``
    becomes a list only from the first uniform pick on."""
    u, picks = uniforms
    index: list[int] = []
    first = [True] * len(share)
    remaining = None
    for j, (draw, threshold) in enumerate(zip(u, share, strict=True)):
        if draw < threshold:
            if remaining is None:
                remaining = order[j:].tolist()
            at = min(int(picks[j] * len(remaining)), len(remaining) - 1)
            index.append(remaining.pop(at))
            first[j] = at == 0
        else:
            index.append(int(order[j]) if remaining is None else remaining.pop(0))
    return index, first


def greedy_ranking(
    values: np.ndarray, k: int, epsilon: float, floor: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(k,) indices, their (k,) logged probabilities ``p`` and (k,) own probabilities
    ``q`` at their positions, and (k,) how many actions remained there: at each position the best remaining by ``values`` (ties:
    the first index, NaN the largest, as ``np.argmax``) with probability ``1 - epsilon``,
    else uniform over the ``n`` remaining, mixed with the floor
    (:mod:`recommender.bandits.epsilon_greedy`; LinUCB is ``epsilon=0`` over its bounds).

    Drawn in one go: the mixture puts a position on a uniform pick with probability
    ``share = floor * n + (1 - floor * n) * epsilon``, which is exactly ``p``: ``share /
    n`` for every remaining action plus ``1 - share`` for the best one. The sampler says
    which picks were the best remaining, so ``q = epsilon / n + (1 - epsilon) * best``
    and ``p = floor + (1 - floor * n) * q`` are closed forms, on Python floats (k numbers,
    the same IEEE arithmetic numpy does)."""
    n = len(values)
    if np.isnan(values).any():
        values = np.where(np.isnan(values), np.inf, values)
    left = range(n, n - k, -1)
    share = [floor * m + (1.0 - floor * m) * epsilon for m in left]
    order = np.argsort(-values, kind="stable")
    index, best = rank_greedy_or_uniform(order, share, rng.random((2, k)).tolist())
    greedy = 1.0 - epsilon
    q = [epsilon / m + (greedy if b else 0.0) for m, b in zip(left, best, strict=True)]
    p = [floor + (1.0 - floor * m) * own for m, own in zip(left, q, strict=True)]
    return np.array(index, np.int64), np.array(p), np.array(q), np.arange(n, n - k, -1)


def draw_rows(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(G,) one index per row of ``p`` (G, V), drawn with that row's probabilities."""
    cumulative = np.cumsum(p, axis=1)
    u = rng.random(len(p))[:, None] * cumulative[:, -1:]
    index = np.minimum((cumulative <= u).sum(axis=1), p.shape[1] - 1)
    rows = np.arange(len(p))
    bad = p[rows, index] <= 0  # u * total rounded up to total: the last positive entry
    if bad.any():
        positive = p[bad] > 0
        index[bad] = p.shape[1] - 1 - np.argmax(positive[:, ::-1], axis=1)
    return index


class ConfiguredPolicy:
    """What every policy shares: validated parameters, ``config``, the floor checks.

    Subclasses set ``name`` and ``PARAMS`` and read their parameters as attributes.
    """

    name: ClassVar[str]
    PARAMS: ClassVar[tuple[Param, ...]]

    def __init__(self, **params: Any) -> None:
        self._config = validate(self.name, self.PARAMS, params)
        for key, value in self._config.items():
            setattr(self, key, value)

    @property
    def config(self) -> dict[str, Value]:
        """The parameters (JSON-able): ``make_policy(self.name, **self.config)`` rebuilds it."""
        return dict(self._config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}({args})"

    def _candidates(self, candidates: Candidates | np.ndarray, k: int) -> tuple[Candidates, int]:
        candidates = Candidates.of(candidates)
        n = len(candidates)
        if n == 0:
            raise ValueError("there are no candidates to choose from")
        check_floor(self.name, self.floor, n)
        return candidates, check_k(n, k)

    def _groups(self, candidates: Candidates | np.ndarray, group_size: int) -> Candidates:
        candidates = Candidates.of(candidates)
        n = len(candidates)
        ok = isinstance(group_size, int | np.integer) and not isinstance(group_size, bool)
        if not ok or group_size < 1 or n == 0 or n % group_size:
            raise ValueError(
                f"group_size={group_size!r} must be a whole number >= 1 dividing the "
                f"{n} candidates (consecutive groups of equal size)"
            )
        check_floor(self.name, self.floor, int(group_size))
        return candidates

    def _own_each(self, context: np.ndarray, candidates: Candidates, size: int) -> np.ndarray:
        """(G, size) the policy's own distribution within each group (before the floor)."""
        raise NotImplementedError

    def choose_each(
        self,
        context: np.ndarray,
        candidates: Candidates | np.ndarray,
        group_size: int,
        rng: np.random.Generator,
    ) -> Choice:
        """One action from each of ``G = n / group_size`` consecutive groups, at once.

        For decisions that are many independent ``k=1`` choices on one page (the artwork
        variant of each title: group ``g`` is title ``g``'s variants), computed in one
        batch. ``actions[g]`` is group ``g``'s pick and ``propensities[g]`` its
        probability within the group; the groups are drawn independently given the
        policy's state, so their product is the probability of all the picks.
        """
        candidates = self._groups(candidates, group_size)
        q = self._own_each(context, candidates, group_size)
        p = self.floor + (1.0 - self.floor * group_size) * q
        index = draw_rows(p, rng)
        rows = np.arange(len(p))
        actions = candidates.ids.reshape(len(p), group_size)[rows, index]
        return Choice(actions=actions, propensities=p[rows, index], policy=self.name)

    def action_probabilities(
        self,
        context: np.ndarray,
        candidates: Candidates | np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """(n,) the probability of every candidate for ``k=1`` (what OPE needs)."""
        candidates = self._groups(candidates, len(Candidates.of(candidates)))
        q = self._own_each(context, candidates, len(candidates))[0]
        return self.floor + (1.0 - self.floor * len(candidates)) * q

    def _choice(self, candidates: Candidates, index: np.ndarray, p: np.ndarray, **kw) -> Choice:
        return Choice(actions=candidates.ids[index].copy(), propensities=p, policy=self.name, **kw)
