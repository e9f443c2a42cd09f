"""The shared propensity check itself accepts a right claim and rejects a wrong one."""

import numpy as np

from recommender.bandits import Choice
from tests.recommender.bandits.chisquare import chi_square


def test_chi_square_accepts_true_and_rejects_false_probabilities():
    rng = np.random.default_rng(0)
    p = np.array([0.5, 0.3, 0.2])
    picks = rng.choice(3, size=5000, p=p)
    right = [Choice(np.array([a]), np.array([p[a]]), "x") for a in picks]
    wrong = [Choice(np.array([a]), np.array([[0.45, 0.35, 0.2][a]]), "x") for a in picks]
    assert chi_square(right)[2] > 1e-3
    assert chi_square(wrong)[2] < 1e-6
