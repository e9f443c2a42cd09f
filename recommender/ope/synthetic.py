"""Synthetic logs whose target value is known exactly: the yardstick for every estimator.

Contexts come from a finite pool with equal probabilities, so a policy's true value is a
finite sum, not a Monte Carlo guess: ``V(pi) = mean over the pool of sum_a pi(a|x) q(x, a)``.
Rewards are Bernoulli, so every estimator's ideal is that number.

- :func:`make_bandit`: one decision per row. Expected reward ``q = sigmoid(x . beta_a +
  b_a)``; the logging policy is a softmax of an unrelated score mixed with uniform
  exploration (so every action has probability >= epsilon / A); the target is a sharper
  softmax of a noisy copy of the true score (a decent learned policy).
- :func:`make_page`: slates laid out as rows x positions under the position-based model,
  ``P(reward at slot k) = theta_k gamma(x, a)`` with planted ``theta``. The logging policy
  fills every slot independently from the same context distribution (positions
  randomized), or with ``placement_bias`` puts attractive actions at the top; the target
  fills slot k from a softmax whose sharpness grows with the slot's examination (it puts
  its best guesses where members look).
- :func:`make_cascade`: one row of slots scanned top down by a member who stops at the
  first click, so a slot's reward depends on the slots above it (the cascade model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.ope.logs import BanditLog


def _softmax(scores: np.ndarray) -> np.ndarray:
    z = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _draw(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row of a (n, A) probability matrix (inverse-CDF, vectorized)."""
    cdf = np.cumsum(probabilities, axis=1)
    u = rng.random((len(cdf), 1)) * cdf[:, -1:]
    return np.minimum((cdf < u).sum(axis=1), probabilities.shape[1] - 1)


@dataclass(frozen=True, eq=False)
class BanditProblem:
    """A contextual bandit over a finite context pool, with a logging and a target policy."""

    contexts: np.ndarray
    """(M, d) the context pool, each drawn with probability 1 / M."""
    mean_rewards: np.ndarray
    """(M, A) true expected reward q(x, a) in (0, 1)."""
    logging: np.ndarray
    """(M, A) logging policy mu(a | x)."""
    target: np.ndarray
    """(M, A) target policy pi(a | x)."""

    def true_value(self, policy: np.ndarray | None = None) -> float:
        """The exact value of ``policy`` (default the target): mean of sum_a pi q."""
        pi = self.target if policy is None else policy
        return float((pi * self.mean_rewards).sum(axis=1).mean())

    def sample(
        self, n: int, rng: np.random.Generator, *, action_ids: np.ndarray | None = None
    ) -> tuple[BanditLog, np.ndarray]:
        """``n`` logged rows under the logging policy and the (n, A) target matrix."""
        pool = rng.integers(0, len(self.contexts), size=n)
        actions = _draw(self.logging[pool], rng)
        means = self.mean_rewards[pool, actions]
        rewards = (rng.random(n) < means).astype(np.float64)
        n_actions = self.logging.shape[1]
        log = BanditLog(
            contexts=self.contexts[pool],
            actions=actions.astype(np.int64),
            action_ids=np.arange(n_actions) if action_ids is None else action_ids,
            rewards=rewards,
            propensities=self.logging[pool, actions],
        )
        return log, self.target[pool]


def make_bandit(
    rng: np.random.Generator,
    *,
    n_contexts: int = 50,
    n_actions: int = 5,
    dim: int = 3,
    epsilon: float = 0.2,
    target_sharpness: float = 3.0,
) -> BanditProblem:
    """A random :class:`BanditProblem` (module docstring)."""
    contexts = rng.normal(size=(n_contexts, dim))
    beta = rng.normal(size=(dim, n_actions))
    bias = rng.normal(-0.5, 0.7, size=n_actions)
    score = contexts @ beta + bias
    mean_rewards = _sigmoid(score)
    unrelated = contexts @ rng.normal(size=(dim, n_actions))
    logging = (1 - epsilon) * _softmax(unrelated) + epsilon / n_actions
    guess = score + rng.normal(0, 0.5, size=score.shape)
    target = _softmax(target_sharpness * guess)
    return BanditProblem(contexts, mean_rewards, logging, target)


@dataclass(frozen=True, eq=False)
class PageProblem:
    """Pages of rows x positions under the position-based model (module docstring)."""

    theta: np.ndarray
    """(rows, positions) planted examination probabilities."""
    contexts: np.ndarray
    """(M, d) context pool, one context per page."""
    attraction: np.ndarray
    """(M, A) gamma(x, a) in (0, 1)."""
    logging: np.ndarray
    """(M, slots, A) logging distribution per slot (slot = row * positions + position)."""
    target: np.ndarray
    """(M, slots, A) target distribution per slot."""

    def true_value(self) -> float:
        """Exact expected reward per page: mean_x sum_k theta_k sum_a pi_k(a|x) gamma(x, a)."""
        per_slot = np.einsum("mka,ma->mk", self.target, self.attraction)
        return float((per_slot * self.theta.ravel()).sum(axis=1).mean())

    def sample(self, n_pages: int, rng: np.random.Generator) -> tuple[BanditLog, np.ndarray]:
        """``n_pages`` logged pages (every slot shown) and the (rows, A) target matrix."""
        n_rows, n_positions = self.theta.shape
        slots = n_rows * n_positions
        pool = np.repeat(rng.integers(0, len(self.contexts), size=n_pages), slots)
        cells = np.tile(np.arange(slots), n_pages)
        actions = _draw(self.logging[pool, cells], rng)
        p_reward = self.theta.ravel()[cells] * self.attraction[pool, actions]
        log = BanditLog(
            contexts=self.contexts[pool],
            actions=actions.astype(np.int64),
            action_ids=np.arange(self.logging.shape[2]),
            rewards=(rng.random(len(pool)) < p_reward).astype(np.float64),
            propensities=self.logging[pool, cells, actions],
            positions=cells % n_positions,
            rows=cells // n_positions,
            slates=np.repeat(np.arange(n_pages), slots),
        )
        return log, self.target[pool, cells]


def make_page(
    rng: np.random.Generator,
    *,
    theta: np.ndarray,
    n_contexts: int = 30,
    n_actions: int = 8,
    dim: int = 2,
    epsilon: float = 0.3,
    placement_bias: float = 0.0,
) -> PageProblem:
    """A random :class:`PageProblem` with the planted examination ``theta``.

    With ``placement_bias > 0`` the logging policy ignores the context and instead puts
    attractive actions in well-examined slots more often (``mu_k(a)`` grows with both), the
    confounding that makes a slot's raw click rate a poor measure of its examination.
    """
    theta = np.asarray(theta, np.float64)
    slots = theta.size
    contexts = rng.normal(size=(n_contexts, dim))
    score = contexts @ rng.normal(size=(dim, n_actions)) + rng.normal(-1.0, 0.8, n_actions)
    attraction = _sigmoid(score)
    if placement_bias > 0:
        appeal = attraction.mean(axis=0)
        appeal = (appeal - appeal.mean()) / appeal.std()
        tilt = theta.ravel() / theta.max() - 0.5  # (slots,)
        per_slot = _softmax(placement_bias * tilt[:, None] * appeal[None, :])  # (slots, A)
        per_slot = np.broadcast_to(per_slot, (n_contexts, slots, n_actions))
    else:
        unrelated = contexts @ rng.normal(size=(dim, n_actions))
        per_slot = np.broadcast_to(_softmax(unrelated)[:, None, :], (n_contexts, slots, n_actions))
    logging = (1 - epsilon) * per_slot + epsilon / n_actions
    guess = score + rng.normal(0, 0.5, size=score.shape)
    sharpness = 0.5 + 3.0 * theta.ravel() / theta.max()  # (slots,)
    target = _softmax(sharpness[None, :, None] * guess[:, None, :])
    return PageProblem(theta, contexts, attraction, np.ascontiguousarray(logging), target)


@dataclass(frozen=True, eq=False)
class CascadeProblem:
    """A row of ``slots`` slots under the cascade model: scan down, stop at the first click."""

    contexts: np.ndarray
    """(M, d) context pool."""
    attraction: np.ndarray
    """(M, A) probability that an examined action is clicked."""
    logging: np.ndarray
    """(M, A) logging distribution of every slot (independent slots)."""
    target: np.ndarray
    """(M, slots, A) target distribution per slot."""

    def true_value(self) -> float:
        """Exact clicks per slate: ``1 - prod_k (1 - sum_a pi_k(a|x) gamma(x, a))``."""
        per_slot = np.einsum("mka,ma->mk", self.target, self.attraction)
        return float((1.0 - np.prod(1.0 - per_slot, axis=1)).mean())

    def sample(self, n_slates: int, rng: np.random.Generator) -> tuple[BanditLog, np.ndarray]:
        """``n_slates`` logged slates and their (rows, A) target matrix."""
        slots = self.target.shape[1]
        pool = np.repeat(rng.integers(0, len(self.contexts), size=n_slates), slots)
        actions = _draw(self.logging[pool], rng)
        clicked = rng.random(len(pool)) < self.attraction[pool, actions]
        clicks = clicked.reshape(n_slates, slots)
        before = np.cumsum(clicks, axis=1) - clicks  # clicks above each slot
        rewards = (clicks & (before == 0)).ravel().astype(np.float64)
        cells = np.tile(np.arange(slots), n_slates)
        log = BanditLog(
            contexts=self.contexts[pool],
            actions=actions.astype(np.int64),
            action_ids=np.arange(self.logging.shape[1]),
            rewards=rewards,
            propensities=self.logging[pool, actions],
            positions=cells,
            slates=np.repeat(np.arange(n_slates), slots),
        )
        return log, self.target[pool, cells]


def make_cascade(
    rng: np.random.Generator,
    *,
    slots: int = 3,
    n_contexts: int = 20,
    n_actions: int = 4,
    dim: int = 2,
    epsilon: float = 0.4,
) -> CascadeProblem:
    """A random :class:`CascadeProblem`; the target is sharper at the top slots."""
    contexts = rng.normal(size=(n_contexts, dim))
    score = contexts @ rng.normal(size=(dim, n_actions)) + rng.normal(-0.5, 0.8, n_actions)
    attraction = _sigmoid(score)
    unrelated = contexts @ rng.normal(size=(dim, n_actions))
    logging = (1 - epsilon) * _softmax(unrelated) + epsilon / n_actions
    sharpness = np.linspace(3.0, 0.5, slots)
    target = _softmax(sharpness[None, :, None] * score[:, None, :])
    return CascadeProblem(contexts, attraction, logging, target)
