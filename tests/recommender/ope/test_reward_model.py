"""The cross-fitted ridge reward model: it learns, it shrinks, and no row sees itself."""

import numpy as np
import pytest

from recommender.ope.reward_model import RewardModelConfig, assign_folds, fit_reward_model


def _data(rng, n=6000, actions=3, cells=2):
    x = rng.normal(size=(n, 2))
    a = rng.integers(0, actions, n)
    c = rng.integers(0, cells, n)
    beta = np.array([[1.0, -1.0], [0.5, 2.0], [-1.5, 0.0]])  # per action
    mean = (x * beta[a]).sum(1) + 0.3 * a + 0.5 * c
    return x, a, c, mean + rng.normal(0, 0.1, n), beta


def test_it_recovers_a_model_of_context_slot_and_action():
    rng = np.random.default_rng(0)
    x, a, c, y, beta = _data(rng)
    folds = assign_folds(len(y), 5, rng)
    model = fit_reward_model(
        contexts=x,
        cells=c,
        actions=a,
        rewards=y,
        n_cells=2,
        n_actions=3,
        folds=folds,
        config=RewardModelConfig(l2=1.0),
    )
    predicted = model.predict(x, c, a, folds)
    truth = (x * beta[a]).sum(1) + 0.3 * a + 0.5 * c
    assert np.abs(predicted - truth).max() < 0.1
    every = model.predict_all(x[:5], c[:5], folds[:5])
    assert every.shape == (5, 3)
    assert np.allclose(every[np.arange(5), a[:5]], predicted[:5])
    pi = rng.dirichlet(np.ones(3), size=5)
    assert np.allclose(model.expected(x[:5], c[:5], folds[:5], pi), (pi * every).sum(1))


def test_a_rarely_seen_action_falls_back_on_the_shared_fit():
    """Action 2 has 3 rows (rewards far off); with ridge shrinkage its prediction stays
    near the global level instead of chasing three noisy values."""
    rng = np.random.default_rng(1)
    n = 3000
    a = np.r_[rng.integers(0, 2, n - 3), [2, 2, 2]]
    y = np.r_[np.ones(n - 3), [10.0, 10.0, 10.0]]
    folds = np.r_[rng.integers(0, 2, n - 3), [1, 1, 0]]
    model = fit_reward_model(
        contexts=np.zeros((n, 0)),
        cells=np.zeros(n, np.int64),
        actions=a,
        rewards=y,
        n_cells=1,
        n_actions=3,
        folds=folds,
        config=RewardModelConfig(l2=10.0),
    )
    rare = model.predict(np.zeros((1, 0)), np.zeros(1, np.int64), np.array([2]), np.array([0]))
    # Fold 0's model saw two of the rows: intercept ~ 1 + 2 * 9 / (2 + 10) = 2.5, not 10.
    assert rare[0] == pytest.approx(1 + 2 * 9 / 12, abs=0.05)


def test_no_row_is_predicted_by_a_model_that_saw_it():
    """Change one row's reward: its own prediction does not move; other folds' do."""
    rng = np.random.default_rng(2)
    x, a, c, y, _ = _data(rng, n=500)
    folds = assign_folds(len(y), 5, rng)
    args = dict(contexts=x, cells=c, actions=a, n_cells=2, n_actions=3, folds=folds)
    config = RewardModelConfig()
    before = fit_reward_model(rewards=y, config=config, **args).predict(x, c, a, folds)
    y2 = y.copy()
    y2[7] += 100.0
    after = fit_reward_model(rewards=y2, config=config, **args).predict(x, c, a, folds)
    assert after[7] == before[7]
    assert np.array_equal(after[folds == folds[7]], before[folds == folds[7]])
    assert not np.allclose(after[folds != folds[7]], before[folds != folds[7]])


def test_folds_keep_a_cluster_together():
    clusters = np.repeat(np.arange(50), 4)
    folds = assign_folds(200, 5, np.random.default_rng(0), clusters)
    assert all(len(set(folds[clusters == s])) == 1 for s in range(50))
    assert np.bincount(folds).tolist() == [40] * 5


@pytest.mark.parametrize(("field", "value"), [("l2", 0.0), ("folds", 1)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        RewardModelConfig(**{field: value})
