"""The page context's genre profile is every play's genres counted, slot by slot."""

import numpy as np

from exploration import bandit


def _counted(title_ids, genre_ids):
    profile = np.zeros(bandit.GENRE_SLOTS)
    for pk in title_ids:
        for genre in genre_ids.get(pk, ()):
            profile[genre % bandit.GENRE_SLOTS] += 1
    return profile


def test_genre_profile_counts_every_plays_genres():
    rng = np.random.default_rng(5)
    # genre ids past GENRE_SLOTS share a slot with a smaller one; some titles have none
    genre_ids = {
        int(pk): frozenset(rng.choice([1, 2, 7, 30, 65, 66, 200], rng.integers(0, 4)).tolist())
        for pk in rng.permutation(np.arange(10, 400))[:300]
    }
    for _ in range(20):
        plays = rng.choice(list(genre_ids), rng.integers(1, 60)).tolist()  # repeats
        plays += [5, 10_000]  # titles without an entry
        got, want = (
            bandit.genre_profile(title_ids=plays, genre_ids=genre_ids),
            _counted(plays, genre_ids),
        )
        if want.any():
            assert got.tobytes() == want.tobytes()
        else:
            assert got is None


def test_genre_profile_is_none_without_a_played_genre():
    genre_ids = {1: frozenset({3}), 2: frozenset()}
    assert bandit.genre_profile(title_ids=[], genre_ids=genre_ids) is None
    assert bandit.genre_profile(title_ids=[2, 2, 9], genre_ids=genre_ids) is None
    assert bandit.genre_profile(title_ids=[1], genre_ids={}) is None
    assert bandit.genre_profile(title_ids=[2, 1], genre_ids=genre_ids)[3] == 1.0
