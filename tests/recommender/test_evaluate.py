from dataclasses import dataclass
from math import log2

import numpy as np
import pytest
import torch

from recommender.base import Recommender
from recommender.data import Interactions
from recommender.evaluate import evaluate


@dataclass
class FixedConfig:
    """No settings."""


class FixedScores(Recommender):
    """Scores A > B > C > D > E > F for every member (no ``kind``: stays out of MODELS)."""

    config_class = FixedConfig

    def __init__(self) -> None:
        super().__init__()
        self.item_ids = list("ABCDEF")
        self.prior = np.array([6, 5, 4, 3, 2, 1], np.float32)

    def fit(self, interactions, *, items=None, rng=None, warm_start=None):
        raise NotImplementedError

    def _score_known(self, rows, *, at):
        raise AssertionError("no member is known")

    def _state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def _load_state(self, state) -> None:
        pass


def test_evaluate_matches_hand_computed_metrics():
    train = Interactions.from_records(["u1", "u3"], ["A", "B"], [0, 0])
    test = Interactions.from_records(
        ["u1", "u1", "u2", "u2", "u2", "u3", "u4"],
        ["C", "F", "A", "Z", "D", "B", "Z"],
        [1, 1, 1, 1, 1, 1, 1],
    )
    result = evaluate(FixedScores(), train, test, k=3)

    # u1: A masked, ranking B C D E F -> C at 2, F at 5; 2 relevant.
    ndcg_u1, recall_u1, rr_u1 = (1 / log2(3)) / (1 + 1 / log2(3)), 1 / 2, 1 / 2
    # u2: ranking A B C D ... -> A at 1, D at 4, Z unknown (a miss); 3 relevant.
    ndcg_u2, recall_u2, rr_u2 = 1 / (1 + 1 / log2(3) + 1 / log2(4)), 1 / 3, 1.0
    # u3: only re-watched B, which is not a new title -> not a test user.
    # u4: only the unknown title Z -> zeros.
    assert result["n_users"] == 3
    assert result["ndcg@3"] == pytest.approx((ndcg_u1 + ndcg_u2) / 3)
    assert result["recall@3"] == pytest.approx((recall_u1 + recall_u2) / 3)
    assert result["mrr"] == pytest.approx((rr_u1 + rr_u2) / 3)
    assert result["hr@3"] == pytest.approx(2 / 3)  # u1 and u2 have a hit in the top 3
    # recall@50 sees every rankable title: u1 2/2, u2 2/3, u4 0
    assert result["recall@50"] == pytest.approx((1 + 2 / 3) / 3)
    # top 3: u1 B C D, u2 A B C, u4 A B C -> 4 of 6 titles
    assert result["coverage@3"] == pytest.approx(4 / 6)
    # train members u1, u3; A and B played by one of two (1 bit), others by nobody (1 bit)
    assert result["novelty@3"] == pytest.approx(1.0)
    # cold titles: never played in train (C, D, E, F); u1 wants C, F -> C at 2; u2 wants D at 4
    cold_u1 = (1 / log2(3)) / (1 + 1 / log2(3))
    assert result["cold_n_users"] == 2
    assert result["cold_ndcg@3"] == pytest.approx(cold_u1 / 2)
    assert result["cold_recall@50"] == pytest.approx(1.0)


def test_evaluate_scores_a_perfect_ranking_as_one():
    test = Interactions.from_records(["u", "u"], ["A", "B"], [1, 1])
    result = evaluate(FixedScores(), Interactions.from_records([], [], []), test, k=10)
    for name in ("ndcg@10", "recall@10", "recall@50", "mrr", "hr@10", "cold_ndcg@10"):
        assert result[name] == 1.0, name
    assert result["n_users"] == 1


def test_bootstrap_interval_brackets_the_mean_and_shrinks_with_more_members():
    from recommender.metrics import Evaluation

    rng = np.random.default_rng(0)
    few = Evaluation(per_user={"m": rng.random(20)}, catalog={})
    many = Evaluation(per_user={"m": rng.random(2000)}, catalog={})
    for ev in (few, many):
        low, high = ev.bootstrap(samples=500)["m"]
        assert low < ev.means()["m"] < high
    assert np.diff(many.bootstrap(samples=500)["m"]) < np.diff(few.bootstrap(samples=500)["m"])


def test_cold_metrics_are_left_out_when_no_member_has_a_cold_title():
    train = Interactions.from_records(list("xyzw"), list("ABCD"), [0, 0, 0, 0])
    test = Interactions.from_records(["u"], ["A"], [1])
    result = evaluate(FixedScores(), train, test, k=3)
    assert result["cold_n_users"] == 0 and "cold_ndcg@3" not in result
    assert not any(isinstance(v, float) and np.isnan(v) for v in result.values())


def test_next_play_ranks_each_test_play_from_the_history_before_it():
    """Fixed scores A > B > ... > F; each request masks what the member played before it."""
    from recommender.metrics import evaluate_next_play

    train = Interactions.from_records(["u1", "u2"], ["A", "C"], [0.0, 0.0])
    test = Interactions.from_records(
        ["u1", "u1", "u1", "u2", "u2"],
        ["C", "B", "A", "Z", "B"],  # u1: C then B, then A again (a replay: not a request)
        [10.0, 20.0, 30.0, 10.0, 20.0],  # u2: Z (unknown to the model: a miss), then B
    )
    result = evaluate_next_play(FixedScores(), train, test, k=2)
    # u1 at t=10, history {A}: B, C -> C at rank 1. At t=20, history {A, C}: B at rank 0.
    # u2 at t=10: Z is unknown (miss). At t=20, history {C, Z}: A, B -> B at rank 1.
    assert result.catalog["n_requests"] == 4
    ndcg = sorted(result.per_user["next_ndcg@2"].tolist())
    assert ndcg == pytest.approx(sorted([1 / log2(3), 1.0, 0.0, 1 / log2(3)]))
    assert sorted(result.per_user["next_mrr"].tolist()) == pytest.approx([0.0, 0.5, 0.5, 1.0])
    assert result.per_user["next_hr@2"].sum() == 3


def test_next_play_samples_at_most_the_requests_asked_for():
    from recommender.metrics import evaluate_next_play

    train = Interactions.from_records(["u1"], ["A"], [0.0])
    test = Interactions.from_records(["u1"] * 5, list("BCDEF"), [1.0, 2.0, 3.0, 4.0, 5.0])
    assert evaluate_next_play(FixedScores(), train, test, max_requests=3).catalog == {
        "n_requests": 3
    }
    with pytest.raises(ValueError, match="max_requests must be >= 1, got 0"):
        evaluate_next_play(FixedScores(), train, test, max_requests=0)
