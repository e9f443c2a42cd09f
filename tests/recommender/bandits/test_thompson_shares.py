"""Thompson's one-pass Monte Carlo shares equal the position-by-position masked argmaxes,
and its choose (the estimating draws laid out one row per action, in ranking order) gives
the choices and propensities of the reference path: the (k + draws, n) posterior draws of
`Thompson.sample`, ranked and estimated by masked argmax, position by position."""

import numpy as np
import pytest

from recommender.bandits import Candidates, Feedback, SharedNormals, make_policy
from recommender.bandits.thompson import (
    _masked_argmax_shares_loop,
    _ordered_shares,
    _rank_by_rows,
)


def _shares(scores, index):
    """`_ordered_shares` on the (D, n) ``scores``, laid out as Thompson.choose lays them."""
    k, n = len(index), scores.shape[1]
    order = list(index) + [a for a in range(n) if a not in set(index)]
    return _ordered_shares(np.ascontiguousarray(scores.T[order]), k)


@pytest.mark.parametrize("seed", range(30))
def test_one_pass_shares_equal_the_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60)) if seed % 3 else int(rng.integers(1, 8))
    k = [int(rng.integers(1, n + 1)), n, max(n - 1, 1)][seed % 3]  # full rankings too
    scores = rng.standard_normal((int(rng.integers(1, 300)), n), dtype=np.float32)
    index = rng.permutation(n)[:k]
    assert np.array_equal(_shares(scores, index), _masked_argmax_shares_loop(scores, index))


@pytest.mark.parametrize("n", [7, 20])
def test_a_tie_is_left_to_the_loop(n):
    """np.argmax breaks a tie by the lower index, which one pass cannot tell: it says so."""
    rng = np.random.default_rng(0)
    scores = np.round(rng.standard_normal((200, n))).astype(np.float32)  # many ties
    index = rng.permutation(n)[:6]
    assert _shares(scores, index) is None


def _trained(name, n, rewards_scale=1.0, repeat=1, **params):
    policy = make_policy(name, **params)
    rng = np.random.default_rng(7)
    m = 4 * n * repeat
    ids = np.arange(100, 100 + n)
    rows = np.tile(rng.integers(n, size=4 * n), repeat)
    contexts = np.tile(rng.normal(size=(4 * n, 3)), (repeat, 1))
    features = rng.normal(size=(n, 2))
    policy.update(
        Feedback(
            contexts=contexts,
            actions=ids[rows],
            rewards=rewards_scale * (1 + rng.normal(size=m) * 0.3),
            propensities=np.full(m, 0.5),
            action_features=features[rows],
        )
    )
    return policy, Candidates(ids=np.concatenate([ids[1:], [999]]), features=features)


def _reference(policy, context, candidates, k, rng, normals):
    """What Thompson.choose logs, from `sample`'s (k + draws, n) draws: the first k rows
    decide, the rest estimate, masked argmax by masked argmax."""
    n, floor = len(candidates), policy.floor
    scores = policy.sample(context, candidates, k + policy.draws, rng, normals)
    left = range(n, n - k, -1)
    index = _rank_by_rows(scores[:k], [floor * m for m in left], rng)
    q = _masked_argmax_shares_loop(scores[k:], np.asarray(index))
    p = np.array([floor + (1 - floor * m) * s for m, s in zip(left, q, strict=True)])
    return candidates.ids[index], p


def _same_as_reference(policy, candidates, cases=40):
    context = np.array([0.8, -0.2, 0.5])
    for case in range(cases):
        n = len(candidates)
        k = [1, 2, n // 2 or 1, n][case % 4]
        shared = case % 2 == 1
        fast_rng, reference_rng = np.random.default_rng(case), np.random.default_rng(case)
        fast_block, reference_block = (SharedNormals(), SharedNormals()) if shared else (None,) * 2
        if shared:  # a block already holding a narrower decision's normals, as on a page
            fast_block.take(policy.draws, 3, fast_rng)
            reference_block.take(policy.draws, 3, reference_rng)
        choice = policy.choose(context, candidates, k, fast_rng, normals=fast_block)
        actions, p = _reference(policy, context, candidates, k, reference_rng, reference_block)
        assert choice.actions.tolist() == actions.tolist(), case
        assert np.array_equal(choice.propensities, p, equal_nan=True), case
        assert choice.estimated and choice.draws == policy.draws
        assert fast_rng.bit_generator.state == reference_rng.bit_generator.state


@pytest.mark.parametrize("name", ["thompson", "thompson_hybrid"])
@pytest.mark.parametrize("n", [5, 50])
def test_choose_gives_the_reference_paths_choices_and_propensities(name, n):
    policy, candidates = _trained(name, n, floor=0.5 / n, draws=200)
    _same_as_reference(policy, candidates)


def test_ties_in_the_estimating_draws_take_the_loop_and_agree():
    """Large means and small sds: the float32 draws of an action often round to the same
    number, so exact ties decide many draws."""
    policy, candidates = _trained("thompson", 6, rewards_scale=1e6, repeat=200, floor=0.05)
    _, mean, sd = policy.parts(np.array([0.8, -0.2, 0.5]), candidates)
    assert (sd[:-1] < np.spacing(np.abs(mean[:-1]).astype(np.float32))).any()
    _same_as_reference(policy, candidates, cases=12)


def test_a_nan_in_the_state_takes_the_loop_and_agrees():
    policy, candidates = _trained("thompson", 6, floor=0.05)
    state = policy.state_dict()
    state["b"][2] = np.nan  # a state no update writes, loaded as it is
    policy.load_state_dict(state)
    _same_as_reference(policy, candidates, cases=8)
