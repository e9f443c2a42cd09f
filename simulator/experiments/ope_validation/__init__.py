"""Off-policy evaluation against the simulator's truth: what only a simulator can check.

A logging policy (epsilon-greedy over the production model) writes logs with exact
propensities; four target policies (greedy, popularity, a softmax stand-in for a bandit,
an older model version) are estimated from them with every estimator of
:mod:`recommender.ope`, and run for real on the same visits with the same random numbers
to get their true values. The examination that EM finds from the logs is compared with
the examination the simulator's members actually did.

- :mod:`~.pages`: the slot pools, the logging policies and the targets (why pools);
- :mod:`~.simulation`: the world, the models, and one replication's logs and truths;
- :mod:`~.estimates`: every estimator on a replication, and EM's examination;
- :mod:`~.report`: bias, RMSE and coverage over replications, tables, figure;
- :mod:`~.cli`: ``python -m simulator.experiments ope-validation`` (docs/exploration.md).
"""

from simulator.experiments.ope_validation.estimates import ESTIMATORS, estimate_replication
from simulator.experiments.ope_validation.pages import TARGETS
from simulator.experiments.ope_validation.simulation import (
    ValidationConfig,
    prepare,
    simulate,
)

__all__ = [
    "ESTIMATORS",
    "TARGETS",
    "ValidationConfig",
    "estimate_replication",
    "prepare",
    "simulate",
]
