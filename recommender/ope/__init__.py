"""Off-policy evaluation: what a target policy's reward would have been, from logged data.

numpy only. Import the public API from here::

    from recommender.ope import BanditLog, evaluate_policy, load_inputs

- :mod:`~recommender.ope.estimators`: ips, snips, dm, dr, switch-dr, dr-os (per decision)
- :mod:`~recommender.ope.slate`: sips, pseudo-inverse, iips, rips, cascade-dr (per slate)
- :mod:`~recommender.ope.examination`: examination of a rows x positions page by EM on the
  position-based model, and the page-pbm estimator built on it
- :mod:`~recommender.ope.bootstrap`: estimates, effective sample sizes, Poisson bootstrap
- :mod:`~recommender.ope.policies`: target policies fitted on the log, by name (a registry);
  :mod:`~recommender.ope.bandit_policies` adds the explorer's bandits to it
- :mod:`~recommender.ope.logs` and :mod:`~recommender.ope.reading`: validated CSV input
- ``python -m recommender.ope``: the CLI (:mod:`~recommender.ope.cli`); docs/ope.md
"""

from recommender.ope import bandit_policies  # noqa: F401 (registers the bandits)
from recommender.ope.bootstrap import Estimate, effective_sample_size, with_intervals
from recommender.ope.estimators import (
    direct_method,
    doubly_robust,
    dr_shrinkage,
    ips,
    snips,
    switch_dr,
)
from recommender.ope.evaluate import OPEConfig, OPEReport, evaluate_policy, reward_model_for
from recommender.ope.examination import Examination, fit_examination, page_pbm_ips
from recommender.ope.logs import BanditLog, Inputs, load_inputs
from recommender.ope.policies import (
    TARGET_POLICIES,
    PolicyInputs,
    chooser_policy,
    register_target_policy,
)
from recommender.ope.reading import OPEInputError, Problem
from recommender.ope.reward_model import CrossFitRewardModel, RewardModelConfig, fit_reward_model
from recommender.ope.slate import (
    SlateLayout,
    cascade_dr,
    cascade_reward_to_go,
    independent_ips,
    pseudo_inverse,
    reward_interaction_ips,
    slate_layout,
    standard_slate_ips,
)

__all__ = [
    "TARGET_POLICIES",
    "BanditLog",
    "CrossFitRewardModel",
    "Estimate",
    "Examination",
    "Inputs",
    "OPEConfig",
    "OPEInputError",
    "OPEReport",
    "PolicyInputs",
    "Problem",
    "RewardModelConfig",
    "SlateLayout",
    "cascade_dr",
    "cascade_reward_to_go",
    "chooser_policy",
    "direct_method",
    "doubly_robust",
    "dr_shrinkage",
    "effective_sample_size",
    "evaluate_policy",
    "fit_examination",
    "fit_reward_model",
    "independent_ips",
    "ips",
    "load_inputs",
    "page_pbm_ips",
    "pseudo_inverse",
    "register_target_policy",
    "reward_interaction_ips",
    "reward_model_for",
    "slate_layout",
    "snips",
    "standard_slate_ips",
    "switch_dr",
    "with_intervals",
]
