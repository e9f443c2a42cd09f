"""SASRec's foundation-model tools: interaction tokenization and auxiliary heads."""

from dataclasses import replace

import numpy as np

from recommender.data import time_split
from recommender.evaluate import evaluate
from recommender.sasrec import SASRecConfig, SASRecRecommender, merge_repeats
from recommender.sasrec_studies import next_play_with_devices
from tests.recommender.factories import device_interactions, repeat_interactions, watch_catalog

TINY = SASRecConfig(dim=16, max_len=20, min_steps=100, refit=False, validation_members=0)


def test_merge_repeats_merges_exactly_the_consecutive_repeats():
    """A A B A C C C | C C (two members): runs merge within a member, never across members,
    and a title that comes back after another stays a new token."""
    offsets = np.array([0, 7, 9])
    items = np.array([0, 0, 1, 0, 2, 2, 2, 2, 2])
    times = np.arange(9, dtype=np.float64)
    devices = np.array([1, 2, 1, 1, 3, 3, 4, 1, 1])
    weights = np.array([0.5, 0.25, 1, 1, 0.5, 0.5, 0.5, 1, 0.25], np.float32)
    new_offsets, counts, (m_items, m_times, m_devices, m_weights) = merge_repeats(
        offsets, items, times, devices, weights
    )
    np.testing.assert_array_equal(new_offsets, [0, 4, 5])
    np.testing.assert_array_equal(m_items, [0, 1, 0, 2, 2])
    np.testing.assert_array_equal(counts, [2, 1, 1, 3, 2])
    np.testing.assert_array_equal(m_weights, [0.75, 1, 1, 1.5, 1.25])  # total watch time
    np.testing.assert_array_equal(m_times, [1, 2, 3, 6, 8])  # the run's last play
    np.testing.assert_array_equal(m_devices, [2, 1, 1, 4, 1])


def test_merged_tokens_shorten_sequences_and_still_learn_the_chain():
    """Members play each title 1-4 times in a row: merged, the training windows hold the
    chain's steps only (12 a member instead of about 30 plays), and the chain is learned at
    least as well (MRR over 0.9 both ways on this log)."""
    data = repeat_interactions(np.random.default_rng(0))
    train, test = time_split(data)
    merged = SASRecRecommender(replace(TINY, merge_repeats=True)).fit(train)
    plain = SASRecRecommender(TINY).fit(train)
    keep = np.ones(len(merged._history_items), bool)
    tokens = int((merged._windows(keep).items >= 0).sum())
    plays = int((plain._windows(keep).items >= 0).sum())
    assert tokens < 0.5 * plays, (tokens, plays)
    history = [("i3", 0.0), ("i3", 1.0), ("i4", 2.0), ("i4", 3.0), ("i4", 4.0)]
    sequence, counts = merged.tokens(merged._sequence(plays=history))
    assert [merged.item_ids[c] for c in sequence.columns] == ["i3", "i4"]
    np.testing.assert_array_equal(counts, [2, 3])
    # repeats of the last title are seen titles (excluded), so the next is the chain's step
    assert evaluate(merged, train, test)["mrr"] > 0.9
    assert evaluate(plain, train, test)["mrr"] > 0.9


def constant_bce(p: np.ndarray, y: np.ndarray) -> float:
    """Binary cross-entropy of predicting the probabilities ``p`` for the targets ``y``."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def test_auxiliary_heads_lower_their_own_loss():
    """Watch fraction (0.9 for the liked genre, 0.1 otherwise) and genre of the next play:
    on a fresh log each trained head beats the best constant guess (the training mean
    fraction; the genres' training shares), which an untrained head (the loss not added)
    does not reach."""
    data, items = watch_catalog(np.random.default_rng(0))
    fresh, _ = watch_catalog(np.random.default_rng(1), n_users=80)
    config = replace(TINY, watch_weight=1.0, genre_weight=1.0, min_steps=300)
    model = SASRecRecommender(config).fit(data, items=items)
    losses = model.objective_losses(fresh)

    fraction = np.clip(fresh.weights, 0, 1)
    watch_floor = constant_bce(np.full_like(fraction, data.weights.mean()), fraction)
    genres = model._genre_targets().numpy()
    train_cols = [model.item_ids.index(i) for i in data.item_ids]
    fresh_cols = [model.item_ids.index(i) for i in fresh.item_ids]
    share = genres / np.maximum(genres.sum(1, keepdims=True), 1)  # (I, G) a title's genres
    rate = share[train_cols].mean(0)  # (G,) share of the training plays in each bucket
    genre_floor = float(-(share[fresh_cols] * np.log(np.maximum(rate, 1e-9))).sum(1).mean())
    assert losses["watch"] < 0.8 * watch_floor, (losses, watch_floor)
    assert losses["genre"] < 0.8 * genre_floor, (losses, genre_floor)


def test_with_merged_tokens_early_stopping_holds_out_the_whole_last_run():
    """A held-out repeat of the title before it is a seen title, which validation would
    score 0 whatever the model: with ``merge_repeats`` each member's whole last run is held
    out, so every validation target is a title the member moves on to."""
    data = repeat_interactions(np.random.default_rng(0), n_users=60)
    config = replace(TINY, validation_members=1000, merge_repeats=True, min_steps=1, epochs=1)
    model = SASRecRecommender(replace(config, validation_members=0)).fit(data)
    model.config = config
    keep, validation = model._hold_out(np.random.default_rng(0))
    assert len(validation.targets) == 60
    last = [h.columns[-1] for h in validation.histories]
    assert (validation.targets != np.array(last)).all()
    offsets = model._history_offsets
    for m in range(60):  # the held-out rows are the member's final run of one title
        held = np.flatnonzero(~keep[offsets[m] : offsets[m + 1]])
        assert held[-1] == offsets[m + 1] - offsets[m] - 1
        titles = model._history_items[offsets[m] : offsets[m + 1]]
        assert (titles[held] == validation.targets[m]).all()
        assert titles[held[0] - 1] != validation.targets[m]


def test_the_device_study_scores_each_request_from_its_own_device():
    """``next_play_with_devices`` (sasrec_studies device) hands the model each request's
    device: on a log where only the request's device tells which kind of title comes next,
    a device-reading SASRec scores far higher with the devices than on the same requests
    with every device blanked. (Fails when the study drops the request's device.)"""
    data = device_interactions(np.random.default_rng(1))
    train, test = time_split(data)
    model = SASRecRecommender(replace(TINY, use_device=True)).fit(train)
    blank = np.array([""] * len(test), dtype=object)
    with_devices = next_play_with_devices(model, train, test)
    without = next_play_with_devices(model, train, replace(test, devices=blank))
    assert len(with_devices) == len(without) > 100
    assert with_devices.mean() > without.mean() + 0.1, (with_devices.mean(), without.mean())
