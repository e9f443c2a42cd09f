"""The training bridge to recommender/: fit, evaluate and save candidates. No database here."""

import dataclasses
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from recommender import MODELS, load_model
from recommender.base import Recommender
from recommender.data import Interactions, time_split
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


def split_for_gate(data: Interactions, *, holdout_fraction: float) -> Split:
    """Time split: the latest `holdout_fraction` of plays are the holdout, so every model is
    judged on what members did after the facts it learned from."""
    if len(data) == 0:
        raise ValueError("The fact log holds no plays yet: nothing to train on.")
    train, holdout = time_split(data, holdout_fraction=holdout_fraction)
    return Split(train=train, holdout=holdout, cut=float(holdout.timestamps.min()))


@contextmanager
def one_torch_thread():
    """Fit on one thread: on a shared 2-core machine a second thread that competes with the
    web server slows small fits down many times over (see docs/models.md)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def candidate_fit(
    kind: str, data: Interactions, *, seed: int, config: dict | None = None
) -> Recommender:
    """Fit a model of `kind`: with its default config, or with a registered version's
    `config` to refit that version's recipe on other facts."""
    if kind not in MODELS:
        raise ValueError(f"Unknown model kind {kind!r}; choose from {sorted(MODELS)}.")
    model_class = MODELS[kind]
    model = model_class(None if config is None else model_class.config_class(**config))
    with one_torch_thread():
        return model.fit(data, rng=np.random.default_rng(seed))


def holdout_metrics(model: Recommender, split: Split) -> dict[str, float]:
    return evaluate(model, split.train, split.holdout, k=10)


def model_config(model: Recommender) -> dict:
    """The model's config as JSON-ready data, as the registry stores it."""
    config = getattr(model, "config", None)
    return (
        json.loads(json.dumps(dataclasses.asdict(config)))
        if dataclasses.is_dataclass(config)
        else {}
    )


def checkpoint_save(model: Recommender, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=False)
    model.save(directory)


def checkpoint_load(directory: Path) -> Recommender:
    return load_model(directory)
