"""The one contract every explorer policy fits: choose with exact propensities, learn, persist.

A policy chooses ``k`` actions out of ``candidates`` for a ``context`` and reports, for every
choice, the probability it had of making it. Those probabilities go into the fact log, so any
other policy can later be evaluated off policy from the same logs (``recommender.ope``).

**What a propensity means here.** ``Choice.propensities[j]`` is the probability that the
policy puts ``Choice.actions[j]`` at position ``j`` *given the context and the actions at
positions 0..j-1*. For ``k=1`` it is simply the probability of the action. The product over
positions is the probability of the whole ranking (:attr:`Choice.slate_propensity`); this is
exactly what the slate estimators in ``recommender.ope.slate`` need.

**The floor.** A policy used for logging gives *every* eligible action at every position a
probability of at least ``floor`` (``floor * n_remaining <= 1``), by mixing its own choice
with a uniform draw; a logged action is therefore never impossible under the logger, which
is what importance weights need.

**Estimates.** Where the probability has no closed form (Thompson sampling), the policy
estimates it by Monte Carlo with a stated number of draws and says so: ``estimated=True``
and ``draws`` on the :class:`Choice`. The fact log stores both.

Everything here is numpy; state is a flat dict of numpy arrays (``state_dict``), so it can be
stored in a database row or a checkpoint and loaded into a fresh policy of the same config.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


class BanditConfigError(ValueError):
    """A policy configuration that cannot work: an unknown name, a rate outside [0, 1], a
    floor so large that probabilities could not sum to 1. The message names the bad value."""


@dataclass(frozen=True)
class Candidates:
    """The eligible actions of one decision.

    ``ids`` are the actions' own ids (title ids, row-kind ids, artwork variant ids), unique.
    ``features`` (optional) describe each action, for the shared/hybrid linear models that can
    choose an action never seen before. ``scores`` (optional) are the production model's
    scores, for epsilon-greedy and the softmax sampler.
    """

    ids: np.ndarray
    """(n,) int64 action ids, unique."""
    features: np.ndarray | None = None
    """(n, f) float action features, or None."""
    scores: np.ndarray | None = None
    """(n,) float model scores (higher is better), or None."""

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, np.int64).reshape(-1)
        object.__setattr__(self, "ids", ids)
        n = len(ids)
        ordered = np.sort(ids)  # (a sort is several times cheaper than np.unique here)
        if (ordered[1:] == ordered[:-1]).any():
            raise ValueError("candidate ids must be unique")
        if self.features is not None:
            features = np.asarray(self.features, np.float64)
            if features.ndim != 2 or features.shape[0] != n:
                raise ValueError(f"features must be (n, f) with n={n}, got {features.shape}")
            object.__setattr__(self, "features", features)
        if self.scores is not None:
            scores = np.asarray(self.scores, np.float64).reshape(-1)
            if scores.shape[0] != n:
                raise ValueError(f"scores must have n={n} entries, got {scores.shape[0]}")
            object.__setattr__(self, "scores", scores)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, candidates: Candidates | np.ndarray | list[int]) -> Candidates:
        """Accept a bare array of ids (what ``recommender.ope`` passes) as well."""
        return candidates if isinstance(candidates, Candidates) else cls(ids=candidates)


@dataclass(frozen=True)
class Choice:
    """What a policy chose and how likely each choice was (module docstring).

    Unpacks as ``actions, propensities = policy.choose(...)``, the shape
    ``recommender.ope.policies.chooser_policy`` expects.
    """

    actions: np.ndarray
    """(k,) int64 chosen action ids, in position order."""
    propensities: np.ndarray
    """(k,) float: P(actions[j] at position j | context, actions[:j])."""
    policy: str
    """The policy's name, as logged."""
    estimated: bool = False
    """True when the propensities are Monte Carlo estimates (Thompson sampling)."""
    draws: int = 0
    """Monte Carlo draws behind an estimate (0 when exact)."""

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.actions
        yield self.propensities

    @property
    def slate_propensity(self) -> float:
        """Probability of the whole ranking: the product of the per-position propensities."""
        return float(np.prod(self.propensities))


@dataclass(frozen=True)
class Feedback:
    """A batch of logged decisions and the rewards that followed, for ``update``.

    One row per shown action. ``contexts`` are the context vectors the choice was made with,
    ``action_features`` the chosen actions' features (None for policies without them).
    ``propensities`` are the logged ones; policies may use them to weight the update.
    """

    contexts: np.ndarray
    """(m, d) float context vectors."""
    actions: np.ndarray
    """(m,) int64 action ids."""
    rewards: np.ndarray
    """(m,) float rewards (a play, or the watched fraction)."""
    propensities: np.ndarray
    """(m,) float logged propensities in (0, 1]."""
    action_features: np.ndarray | None = None
    """(m, f) float features of the chosen actions, or None."""

    def __len__(self) -> int:
        return len(self.actions)


State = Mapping[str, np.ndarray]
"""A policy's learned state: names to numpy arrays, nothing else."""


@runtime_checkable
class Policy(Protocol):
    """The explorer contract (module docstring)."""

    name: str

    def choose(
        self,
        context: np.ndarray,
        candidates: Candidates | np.ndarray,
        k: int,
        rng: np.random.Generator,
    ) -> Choice:
        """Choose ``k`` distinct actions for ``context`` (``k <= len(candidates)``)."""
        ...

    def update(self, batch: Feedback) -> None:
        """Learn from logged decisions and their rewards (in place)."""
        ...

    def state_dict(self) -> dict[str, np.ndarray]:
        """The learned state as plain arrays (copies)."""
        ...

    def load_state_dict(self, state: State) -> None:
        """Replace the learned state with ``state`` (from ``state_dict`` of the same config)."""
        ...
