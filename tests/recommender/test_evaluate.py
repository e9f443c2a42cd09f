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

    def fit(self, interactions, *, rng=None):
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


def test_evaluate_scores_a_perfect_ranking_as_one():
    test = Interactions.from_records(["u", "u"], ["A", "B"], [1, 1])
    result = evaluate(FixedScores(), Interactions.from_records([], [], []), test, k=10)
    assert result == {"ndcg@10": 1.0, "recall@10": 1.0, "mrr": 1.0, "n_users": 1}
