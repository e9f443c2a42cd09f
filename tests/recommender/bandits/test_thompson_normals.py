"""Thompson's decisions sharing one block of estimating normals (one page's,
recommender.bandits.thompson.SharedNormals) log what they logged alone: over many pages,
each decision's logged propensities match its frequencies. Each check also runs on a
broken variant that the same counts reject, so it could fail."""

import numpy as np
import pytest

from recommender.bandits import Candidates, SharedNormals
from tests.recommender.bandits.chisquare import chi_square
from tests.recommender.bandits.test_linear import CANDIDATES, CONTEXT, trained

OTHER_CONTEXT = np.array([0.2, -1.0, 0.8])
SUBSET = Candidates(ids=CANDIDATES.ids[1:], features=CANDIDATES.features[1:])
PAGES = 6000


def pages(policy, n=PAGES, normals=None, seed=0):
    """n pages of three decisions (a ranking of 3, one of 2 over other candidates and
    context, one pick per group) sharing each page's block (``normals``: one for all)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        block = SharedNormals() if normals is None else normals
        out.append(
            (
                policy.choose(CONTEXT, CANDIDATES, 3, rng, normals=block),
                policy.choose(OTHER_CONTEXT, SUBSET, 2, rng, normals=block),
                policy.choose_each(CONTEXT, CANDIDATES, len(CANDIDATES), rng, normals=block),
            )
        )
    return out


def p_values(choices):
    first, second, each = zip(*choices, strict=True)
    return (
        chi_square(list(first))[2],
        chi_square(list(second))[2],
        chi_square(list(each), per_group=True)[2],
    )


@pytest.mark.parametrize("name", ["thompson", "thompson_hybrid"])
def test_decisions_sharing_a_page_block_match_their_frequencies(name):
    policy = trained(name, floor=0.02, draws=200)
    choices = pages(policy)
    assert all(c.estimated and c.draws == 200 for page in choices for c in page)
    assert min(p_values(choices)) > 1e-3


def test_the_block_is_drawn_once_for_the_widest_decision():
    rng = np.random.default_rng(0)
    block = SharedNormals()
    narrow = block.take(20, 4, rng).copy()
    wide = block.take(30, 5, rng)
    state = rng.bit_generator.state
    assert wide.shape == (30, 5) and np.array_equal(wide[:20, :4], narrow)
    assert np.array_equal(block.take(30, 5, rng), wide) and rng.bit_generator.state == state
    assert not wide.flags.writeable


def test_a_block_reused_across_pages_is_rejected():
    """Broken: every page's estimates from the same normals, so they all err alike."""
    policy = trained("thompson", floor=0.02, draws=200)
    assert min(p_values(pages(policy, normals=SharedNormals()))) < 1e-6


def test_a_block_whose_actions_share_one_column_is_rejected(monkeypatch):
    """Broken: a decision's actions all take the same column of normals, so its estimate
    is of draws in which every action's noise is alike, not independent."""
    honest = SharedNormals.take

    def take(self, draws, n, rng):
        return honest(self, draws, 1, rng)[:, [0] * n]

    monkeypatch.setattr(SharedNormals, "take", take)
    policy = trained("thompson", floor=0.02, draws=200)
    assert min(p_values(pages(policy))) < 1e-6
