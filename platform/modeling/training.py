"""The training bridge to recommender/: fit, evaluate and save candidates. No database here."""

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender import MODELS, load_model
from recommender.base import Recommender
from recommender.data import Interactions
from recommender.evaluate import evaluate

from .dataset import PlayTable

GATE_METRIC = "ndcg@10"


def to_interactions(plays: PlayTable) -> Interactions:
    return Interactions.from_records(
        plays.member_ids, plays.title_ids, plays.timestamps, plays.weights
    )


@dataclass(frozen=True)
class Split:
    """The gate's split: train on facts before `cut`, judge on facts at or after it."""

    train: Interactions
    holdout: Interactions
    cut: float  # unix seconds


def split_for_gate(
    data: Interactions, *, holdout_fraction: float, not_before: float | None
) -> Split:
    """Time split whose holdout holds only facts the production model never saw.

    The cut is the (1 - holdout_fraction) time quantile, moved later to `not_before` (the
    production model's data horizon) when needed, so production is never judged on facts it
    was trained on.
    """
    if len(data) == 0:
        raise ValueError("The fact log holds no plays yet: nothing to train on.")
    cut = float(np.quantile(data.timestamps, 1.0 - holdout_fraction))
    if not_before is not None:
        cut = max(cut, np.nextafter(not_before, np.inf))
    before = data.timestamps < cut
    return Split(train=_subset(data, before), holdout=_subset(data, ~before), cut=cut)


def _subset(data: Interactions, mask: np.ndarray) -> Interactions:
    return Interactions.from_records(
        data.user_ids[mask], data.item_ids[mask], data.timestamps[mask], data.weights[mask]
    )


def candidate_fit(kind: str, data: Interactions, *, seed: int) -> Recommender:
    if kind not in MODELS:
        raise ValueError(f"Unknown model kind {kind!r}; choose from {sorted(MODELS)}.")
    return MODELS[kind]().fit(data, rng=np.random.default_rng(seed))


def holdout_metrics(model: Recommender, split: Split) -> dict[str, float]:
    return evaluate(model, split.train, split.holdout, k=10)


def model_config(model: Recommender) -> dict:
    config = getattr(model, "config", None)
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {}


def checkpoint_save(model: Recommender, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=False)
    model.save(directory)


def checkpoint_load(directory: Path) -> Recommender:
    return load_model(directory)
