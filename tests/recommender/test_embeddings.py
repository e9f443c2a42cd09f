"""Exported embeddings: the vectors each model ranks with, aligned across versions."""

import numpy as np
import pytest
import torch

from recommender import (
    EASEConfig,
    EASERecommender,
    MFConfig,
    MFRecommender,
    SASRecConfig,
    SASRecRecommender,
)
from recommender.embeddings import align, drift, export_embeddings, nearest
from tests.recommender.factories import clustered_interactions

TINY_SASREC = SASRecConfig(dim=16, max_len=20, min_steps=60, refit=False, validation_members=0)


@pytest.fixture(scope="module")
def log():
    return clustered_interactions(np.random.default_rng(0), n_users=120, n_items=40, per_user=12)


def test_mf_exports_the_vectors_it_scores_with(log):
    model = MFRecommender(MFConfig(dim=8, epochs=5)).fit(log, rng=np.random.default_rng(0))
    emb = export_embeddings(model)
    assert emb.method == "mf" and emb.dim == 8
    assert emb.item_ids == model.item_ids and emb.user_ids == model.user_ids
    bias = model.net.item_bias.detach().numpy()
    scores = model.score(model.user_ids[:5])
    np.testing.assert_allclose(emb.users[:5] @ emb.items.T + bias, scores, rtol=1e-4, atol=1e-4)


def test_sasrec_member_vectors_score_the_next_play(log):
    model = SASRecRecommender(TINY_SASREC).fit(log, rng=np.random.default_rng(0))
    emb = export_embeddings(model)
    assert emb.method == "sasrec" and emb.items.shape == (len(model.item_ids), 16)
    users = emb.user_ids[:4]
    last = np.array([model.history(row=model._user_index[u])[1][-1] for u in users])
    scores = model.score(users, at=last)  # a request right after the last play
    with torch.no_grad():
        items = model.item_vectors(at=float(last.max()))
    np.testing.assert_allclose(emb.users[:4] @ items.T, scores, rtol=1e-4, atol=1e-4)


def test_ease_and_popularity_export_none(log):
    model = EASERecommender(EASEConfig()).fit(log)
    assert export_embeddings(model) is None


def test_alignment_removes_the_rotation_between_two_fits(log):
    fit = lambda seed: MFRecommender(MFConfig(dim=8, epochs=8)).fit(  # noqa: E731
        log, rng=np.random.default_rng(seed)
    )
    first, second = export_embeddings(fit(0)), export_embeddings(fit(1))
    aligned, how = align(second, first.item_ids, first.items)
    assert how.shared == len(first.item_ids)
    raw, after = drift(second.items, first.items), drift(aligned.items, first.items)
    assert after == pytest.approx(how.drift_after, rel=1e-4)
    assert after < 0.6 * raw, (raw, after)
    # the same rotation for members: every score and similarity within the version is kept
    np.testing.assert_allclose(
        aligned.users @ aligned.items.T, second.users @ second.items.T, rtol=1e-3, atol=1e-3
    )
    unchanged, none = align(second, first.item_ids[:1], first.items[:1])
    assert none is None and unchanged is second


def test_nearest_is_cosine_best_first_and_skips_excluded_and_zero_rows():
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0, 0], [10, 0.5]], np.float32)
    rows, sims = nearest(vectors, vectors[0], k=3, exclude=np.array([1, 0, 0, 0, 0], bool))
    assert rows.tolist() == [4, 1, 2]
    assert sims[0] == pytest.approx(10 / np.hypot(10, 0.5))
    assert (np.diff(sims) <= 0).all()
