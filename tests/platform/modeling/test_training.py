"""The training bridge's rules, each defined once and shared with the recommender's CLIs."""

import math

import numpy as np

from modeling import training
from recommender import ItemMetadata
from recommender.data import Interactions
from recommender.evaluate import catalog_at_cut


def test_gate_and_evaluate_split_the_catalogue_at_the_cut_by_one_rule():
    """A title with no known arrival time counts as already in the catalogue at the cut, for
    the promotion gate exactly as for `recommender.evaluate` (they once disagreed on it)."""
    data = Interactions.from_records(
        ["a", "a", "b", "b", "c"], ["1", "2", "1", "3", "2"], [10.0, 20.0, 30.0, 40.0, 50.0]
    )
    items = ItemMetadata.from_records(
        ["1", "2", "3", "4", "5"], added_at=[0.0, 5.0, math.nan, 45.0, 200.0]
    )
    split = training.split_for_gate(data, items, holdout_fraction=0.4)
    assert split.cut == 40.0
    known, arrivals = catalog_at_cut(items, split.cut)
    assert list(split.known.item_ids) == list(known.item_ids) == ["1", "2", "3"]
    assert list(split.arrivals.item_ids) == list(arrivals.item_ids) == ["4", "5"]
    assert np.isnan(split.known.added_at[2])
