"""The explorer's bandit policies as ``--target-policy`` names, cross-fitted on the log.

``python -m recommender.ope --logs LOGS.csv --target-policy linucb`` asks: had the explorer
run LinUCB, learning from these very logs, what reward would it have got? Registered here
(through :func:`recommender.ope.policies.register_target_policy`, with a direct function,
not the k=1 sampling adapter, since every bandit reports all its probabilities at once
through ``action_probabilities``):

- ``linucb`` and ``thompson``: the disjoint policies at their registry defaults. For
  *cross-fitting*, fold ``f``'s rows are decided by a policy updated on every other fold's
  rows (``inputs.reward_model.folds``), never on its own, exactly as the reward model is;
  otherwise IPS would credit the policy for rewards it had memorized. The context is the
  log's context with a leading 1 (an intercept; the log's may be empty). Thompson
  sampling's probabilities are its Monte Carlo estimates (``draws`` per row).
- ``epsilon_greedy`` and ``softmax``: over the cross-fitted reward model's predictions as
  the scores (the role the production model's scores play on the homepage), so they too
  never see a row's own reward.

The hybrid variants are not registered: the logs carry no action features.
"""

from __future__ import annotations

import numpy as np

from recommender.bandits import Candidates, Feedback, make_policy
from recommender.ope.policies import PolicyInputs, register_target_policy

LEARNING = ("linucb", "thompson")
"""Bandits that learn from the log (cross-fitted by fold)."""
OVER_SCORES = ("epsilon_greedy", "softmax")
"""Bandits over the reward model's cross-fitted predictions."""


def _contexts(inputs: PolicyInputs) -> np.ndarray:
    log = inputs.log
    return np.concatenate([np.ones((len(log), 1)), log.contexts], axis=1)


def learning_policy(name: str):
    """A target policy: bandit ``name`` updated on the other folds, per fold."""

    def policy(inputs: PolicyInputs) -> np.ndarray:
        log, folds = inputs.log, inputs.reward_model.folds
        x = _contexts(inputs)
        candidates = Candidates(ids=log.action_ids)
        out = np.empty((len(log), log.n_actions))
        for fold in np.unique(folds):
            train, held = folds != fold, np.flatnonzero(folds == fold)
            bandit = make_policy(name)
            bandit.update(
                Feedback(
                    contexts=x[train],
                    actions=log.action_ids[log.actions[train]],
                    rewards=log.rewards[train],
                    propensities=log.propensities[train],
                )
            )
            for i in held:
                out[i] = bandit.action_probabilities(x[i], candidates, inputs.rng)
        return out

    policy.__doc__ = f"{name}, updated on the other folds' rows (module docstring)."
    return policy


def scoring_policy(name: str):
    """A target policy: bandit ``name`` over the cross-fitted reward model's predictions."""

    def policy(inputs: PolicyInputs) -> np.ndarray:
        log, model = inputs.log, inputs.reward_model
        bandit = make_policy(name)
        q = model.predict_all(log.contexts, log.cells(), model.folds)  # (N, A), out of fold
        out = np.empty((len(log), log.n_actions))
        for i in range(len(log)):
            candidates = Candidates(ids=log.action_ids, scores=q[i])
            out[i] = bandit.action_probabilities(None, candidates, inputs.rng)
        return out

    policy.__doc__ = f"{name} over the reward model's out-of-fold predictions."
    return policy


for _name in LEARNING:
    register_target_policy(_name, learning_policy(_name))
for _name in OVER_SCORES:
    register_target_policy(_name, scoring_policy(_name))
