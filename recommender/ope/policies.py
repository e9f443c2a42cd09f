"""Target policies fitted on the logs themselves, by name: ``--target-policy NAME``.

A target policy here is a function from :class:`PolicyInputs` (the log and its
cross-fitted reward model) to the (N, A) matrix of its probabilities in each log row's
context: exactly what TARGET.csv would hold. A policy fitted on the log must be
*cross-fitted* like the reward model: row i's probabilities come from what was learned on
the other folds, or IPS would reward the policy for having memorized row i's reward.

**Adding a policy** (the hook the bandit package joins through)::

    from recommender.ope.policies import register_target_policy, chooser_policy

    register_target_policy("linucb", chooser_policy(my_bandit.choose))

or decorate any ``def policy(inputs: PolicyInputs) -> np.ndarray`` with
``@register_target_policy("name")``. :func:`chooser_policy` adapts the bandits' contract
``choose(context, candidates, k, rng) -> (actions, probabilities)``: OPE needs the
probability of *every* action, while ``choose`` reports only those of the actions it picks,
so the adapter calls it with ``k=1`` until the reported probabilities of the distinct picks
sum to 1. A bandit that can report all its probabilities at once should register a direct
function instead (the adapter is a Python loop per row). A bandit that learns from the log
should fit per fold (``inputs.reward_model.folds``) to stay cross-fitted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.ope.logs import BanditLog
from recommender.ope.reward_model import CrossFitRewardModel


@dataclass(frozen=True, eq=False)
class PolicyInputs:
    """What a target policy may use: the log, its cross-fitted reward model, randomness."""

    log: BanditLog
    reward_model: CrossFitRewardModel
    rng: np.random.Generator


TargetPolicy = Callable[[PolicyInputs], np.ndarray]
"""``policy(inputs) -> (N, A)`` probabilities aligned with ``inputs.log.action_ids``."""
TARGET_POLICIES: dict[str, TargetPolicy] = {}
"""Every target policy ``--target-policy`` knows, by name."""


def register_target_policy(name: str, policy: TargetPolicy | None = None):
    """Register ``policy`` under ``name`` (or use as a decorator); a name is taken once."""

    def register(function: TargetPolicy) -> TargetPolicy:
        if name in TARGET_POLICIES:
            raise ValueError(f"a target policy named {name!r} is already registered")
        TARGET_POLICIES[name] = function
        return function

    return register if policy is None else register(policy)


@register_target_policy("uniform")
def uniform(inputs: PolicyInputs) -> np.ndarray:
    """Every action with probability 1 / A (A: the actions seen in the log)."""
    n, a = len(inputs.log), inputs.log.n_actions
    return np.full((n, a), 1.0 / a, np.float32)


@register_target_policy("greedy-reward-model")
def greedy_reward_model(inputs: PolicyInputs) -> np.ndarray:
    """The argmax over actions of the cross-fitted reward model (ties to the first action).

    Row i's choice comes from the model that never saw row i's fold. The direct method
    judges it with the same model that chose it, so dm is optimistic for this policy (the
    winner's curse); ips and dr use row i's observed reward and are not.
    """
    log, model = inputs.log, inputs.reward_model
    out = np.zeros((len(log), log.n_actions), np.float32)
    cells = log.cells()
    for start in range(0, len(log), 1 << 16):
        rows = np.arange(start, min(start + (1 << 16), len(log)))
        q = model.predict_all(log.contexts[rows], cells[rows], model.folds[rows])
        out[rows, np.argmax(q, axis=1)] = 1.0
    return out


Chooser = Callable[
    [np.ndarray, np.ndarray, int, np.random.Generator], tuple[Sequence[int], Sequence[float]]
]
"""``choose(context, candidates, k, rng) -> (actions, probabilities)``: the bandit contract."""


def chooser_policy(choose: Chooser, *, max_draws: int = 1000) -> TargetPolicy:
    """A target policy from a bandit's ``choose``, called with ``k=1`` (module docstring).

    Per row, draws until the distinct picks' reported probabilities sum to 1 (within
    1e-9) or ``max_draws`` is reached; mass never drawn is spread evenly over the actions
    never picked (it is at most what ``max_draws`` draws failed to find).
    """

    def policy(inputs: PolicyInputs) -> np.ndarray:
        log, rng = inputs.log, inputs.rng
        candidates = log.action_ids
        column = {int(a): j for j, a in enumerate(candidates)}
        out = np.zeros((len(log), len(candidates)), np.float64)
        for i in range(len(log)):
            found: dict[int, float] = {}
            for _ in range(max_draws):
                actions, probabilities = choose(log.contexts[i], candidates, 1, rng)
                found[column[int(actions[0])]] = float(probabilities[0])
                if sum(found.values()) >= 1 - 1e-9:
                    break
            for j, p in found.items():
                out[i, j] = p
            if out[i].sum() > 1 + 1e-6:
                raise ValueError(
                    f"choose() reported probabilities summing to {out[i].sum():.9g} > 1 for "
                    f"the context of log row {i}: they must be the chance of each pick"
                )
            missing = [j for j in range(len(candidates)) if j not in found]
            left = max(0.0, 1.0 - out[i].sum())
            if missing and left > 0:
                out[i, missing] = left / len(missing)
            out[i] /= out[i].sum()
        return out

    return policy
