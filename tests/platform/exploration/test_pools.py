"""The explorer's eligible pools are the first titles by their documented keys: the
partition shortcut (exploration.page._first) keeps exactly what one full sort of every
unplayed title would, ties at the cut and unscored titles included."""

from types import SimpleNamespace

import numpy as np
import pytest

from exploration.page import _best_by_score, _kept, _least_known
from homepage.context import Candidates


def _context(seed: int, n: int):
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.arange(1, 4 * n))[:n].astype(np.int64)
    # few distinct values, so the cut at `limit` falls inside runs of ties
    scores = rng.integers(0, 6, n).astype(np.float64)
    scores[rng.random(n) < 0.3] = np.nan  # unscored by the model
    added = rng.integers(0, 5, n).astype(np.float64) * 86400.0
    trending = {int(pk): float(rng.integers(0, 3)) for pk in ids if rng.random() < 0.5}
    years = rng.integers(1950, 2026, n).astype(np.float64)
    candidates = Candidates(ids=ids, scores=scores, added=added, genres=None, years=years)
    return SimpleNamespace(candidates=candidates, trending=trending)


def _best_by_score_sorted(ctx, among, limit):
    c = ctx.candidates

    def key(i):
        unknown = bool(np.isnan(c.scores[i]))
        return (unknown, 0.0 if unknown else -c.scores[i], -c.added[i], c.ids[i])

    return sorted(among.tolist(), key=key)[:limit]


def _least_known_sorted(ctx, among, limit):
    c = ctx.candidates

    def key(i):
        return (-c.added[i], ctx.trending.get(int(c.ids[i]), 0.0), c.ids[i])

    return sorted(among.tolist(), key=key)[:limit]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("limit", [1, 5, 50])
def test_pools_are_the_first_by_their_keys(seed, limit):
    n = [3, 30, 200][seed % 3]
    ctx = _context(seed, n)
    among = np.flatnonzero(np.random.default_rng(seed + 1000).random(n) < 0.8)
    assert _best_by_score(ctx, among, limit).tolist() == _best_by_score_sorted(ctx, among, limit)
    assert _least_known(ctx, among, limit).tolist() == _least_known_sorted(ctx, among, limit)


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("limit", [1, 5, 50])
def test_least_known_but_the_dropped_is_the_pool_without_them(seed, limit):
    """Something different's pool, after Top Picks took some titles of the same pool."""
    n = [3, 30, 200][seed % 3]
    ctx = _context(seed, n)
    rng = np.random.default_rng(seed + 2000)
    among = np.flatnonzero(rng.random(n) < 0.8)
    dropped = rng.permutation(among)[: int(rng.integers(0, min(len(among), 4) + 1))]
    rest = np.setdiff1d(among, dropped)
    first = _least_known(ctx, among, limit + len(dropped))  # as slots_explore takes them
    assert first[_kept(first, dropped, limit)].tolist() == _least_known_sorted(ctx, rest, limit)
