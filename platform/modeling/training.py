"""The training bridge to recommender/: fit, evaluate and save candidates. No database here."""

import dataclasses
import json
import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from recommender import MODELS, ItemMetadata, load_model
from recommender.base import Recommender
from recommender.data import Interactions, time_split
from recommender.evaluate import catalog_at_cut, evaluate

from .dataset import PlayTable

GATE_METRIC = "ndcg@10"


def to_interactions(plays: PlayTable) -> Interactions:
    return Interactions.from_records(
        plays.member_ids, plays.title_ids, plays.timestamps, plays.weights, plays.devices
    )


@dataclass(frozen=True)
class Split:
    """The gate's split: train on facts before `cut`, judge on facts at or after it.

    The catalogue is split at the same time: a trial model learns the titles that existed
    before the cut (`known`), and the titles that arrived later (`arrivals`) are added to it
    before it is judged, exactly as serving adds titles that arrive after a model was trained.
    So the holdout measures cold start the way members meet it.
    """

    train: Interactions
    holdout: Interactions
    cut: float  # unix seconds
    items: ItemMetadata  # the catalogue at the end of the holdout
    known: ItemMetadata  # titles added before the cut, or at an unknown time
    arrivals: ItemMetadata  # titles added at or after it


def split_for_gate(data: Interactions, items: ItemMetadata, *, holdout_fraction: float) -> Split:
    """Time split: the latest `holdout_fraction` of plays are the holdout, so every model is
    judged on what members did after the facts it learned from."""
    if len(data) == 0:
        raise ValueError("The fact log holds no plays yet: nothing to train on.")
    train, holdout = time_split(data, holdout_fraction=holdout_fraction)
    cut = float(holdout.timestamps.min())
    known, arrivals = catalog_at_cut(items, cut)  # the evaluation CLI's own rule
    return Split(train=train, holdout=holdout, cut=cut, items=items, known=known, arrivals=arrivals)


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
    kind: str,
    data: Interactions,
    *,
    seed: int,
    items: ItemMetadata | None = None,
    config: dict | None = None,
    warm_start: Recommender | None = None,
) -> Recommender:
    """Fit a model of `kind` on plays and the catalogue's metadata: with its default config,
    or with a registered version's `config` to refit that version's recipe on other facts.
    `warm_start` (the previous version of the same kind) lets models that can start from it
    do so; the others ignore it."""
    if kind not in MODELS:
        raise ValueError(f"Unknown model kind {kind!r}; choose from {sorted(MODELS)}.")
    model_class = MODELS[kind]
    model = model_class(None if config is None else model_class.config_class(**config))
    with one_torch_thread():
        return model.fit(data, items=items, rng=np.random.default_rng(seed), warm_start=warm_start)


def trial_fit(kind: str, split: Split, *, seed: int, config: dict | None = None) -> Recommender:
    """Fit `kind` on the training side as a model trained at the cut would have been: with the
    titles known then, never warm-started (a previous version may have seen the holdout)."""
    return candidate_fit(kind, split.train, seed=seed, items=split.known, config=config)


def holdout_metrics(model: Recommender, split: Split) -> dict[str, float | None]:
    """Add the titles that arrived after the cut, as serving would, and score the holdout.

    Metrics that have no value on this holdout (the cold-start slice when no member played a
    new title) are None, which the registry stores as JSON null."""
    if len(split.arrivals):
        model.extend_items(split.arrivals)
    with one_torch_thread():
        metrics = evaluate(model, split.train, split.holdout, k=10, items=split.items)
    return {name: None if _missing(value) else value for name, value in metrics.items()}


def _missing(value) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def recipe(kind: str) -> dict:
    """The recipe of a candidate as the registry stores it: its kind's config before fitting,
    as JSON-ready data. A fit may refine its own config (EASE tunes lambda on a validation
    split), and that refinement is part of the fitted checkpoint, not of the recipe, so two
    fits of one recipe on different facts are recognised as the same recipe."""
    return json.loads(json.dumps(dataclasses.asdict(MODELS[kind].config_class())))


def checkpoint_save(model: Recommender, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=False)
    model.save(directory)


def checkpoint_load(directory: Path) -> Recommender:
    return load_model(directory)
