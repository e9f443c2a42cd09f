"""Logged propensities are right, through the real page builder: over many seeded pages the
empirical frequency of each choice matches the probability the page logged for it (Pearson's
chi-square), for each of the three uses. Each test also checks that the same counts reject
a wrong formula, so it could fail."""

from collections import Counter
from datetime import timedelta

import numpy as np
import pytest

from events.models import Impression, PageView
from exploration.rowkinds import ROW_KINDS, SOMETHING_DIFFERENT
from homepage.services import homepage_build
from recommender.bandits import POLICIES, SharedNormals
from tests.factories import NOW, MemberFactory, TitleFactory

from .conftest import configure
from .stats import chi_square_p

pytestmark = pytest.mark.django_db
PAGES = 400
ALPHA = 1e-3


def build_pages(member, n=PAGES, seed=0) -> list:
    return [
        homepage_build(member=member, at=NOW, rng=np.random.default_rng([seed, i]))
        for i in range(n)
    ]


SLOT_POLICIES = [
    ("epsilon_greedy", 0.5, 0.0, {}),
    ("softmax", 0.0, 0.0, {"temperature": 2.0}),
    ("linucb", 0.0, 0.02, {}),
    ("linucb_hybrid", 0.0, 0.02, {}),
    ("thompson", 0.0, 0.01, {}),
    ("thompson_hybrid", 0.0, 0.01, {}),
]
"""Every policy of the library, as the slots use serves it (fresh: no update yet)."""


def test_every_policy_of_the_library_is_covered():
    assert {policy for policy, *_ in SLOT_POLICIES} == set(POLICIES)


@pytest.mark.parametrize(("policy", "rate", "floor", "params"), SLOT_POLICIES, ids=str)
def test_explored_top_picks_slot_frequencies_match_logged_propensities(
    world, policy, rate, floor, params
):
    configure("slots", policy=policy, rate=rate, floor=floor, positions=1, params=params)
    build_pages(world["member"])
    explored = Impression.objects.filter(row_key="top_picks", explored=True)
    assert explored.count() == PAGES  # one explored position per page
    estimated = policy.startswith("thompson")
    logged: dict[int, list[float]] = {}
    for title_id, propensity, label, is_estimate, draws in explored.values_list(
        "title_id", "propensity", "policy", "estimated", "draws"
    ):
        assert label == f"{policy}@v0" and is_estimate == estimated
        assert draws == (200 if estimated else 0)
        logged.setdefault(title_id, []).append(propensity)
    if estimated:  # Monte Carlo estimates vary page to page: their mean is the probability
        logged = {pk: float(np.mean(ps)) for pk, ps in logged.items()}
    else:
        for ps in logged.values():
            assert ps == pytest.approx([ps[0]] * len(ps))
        logged = {pk: ps[0] for pk, ps in logged.items()}
    counts = Counter(explored.values_list("title_id", flat=True))
    eligible = [pk for pk, _ in PageView.objects.first().exploration["top_picks"]["eligible"]]
    assert set(counts) <= set(eligible) and len(eligible) >= 3
    # every eligible title shows up at least once, so each has a logged probability
    assert set(logged) == set(eligible)
    probabilities = [logged[pk] for pk in eligible]
    assert sum(probabilities) == pytest.approx(1.0, abs=0.02 if estimated else 1e-9)
    observed = [counts[pk] for pk in eligible]
    assert chi_square_p(observed, probabilities) > ALPHA
    if not estimated:  # (a fresh Thompson sampler is uniform: nothing wrong to tell apart)
        uniform = [1 / len(eligible)] * len(eligible)  # a wrong formula is rejected
        assert chi_square_p(observed, uniform) < ALPHA


def test_something_different_first_and_second_positions_match_their_conditional_propensities(
    world,
):
    configure("slots", policy="epsilon_greedy", rate=0.6, positions=0)
    build_pages(world["member"])
    rows = Impression.objects.filter(row_key=SOMETHING_DIFFERENT).order_by("page", "position")
    by_page: dict = {}
    for page, title, p, explored in rows.values_list("page", "title", "propensity", "explored"):
        assert explored
        by_page.setdefault(page, []).append((title, p))
    assert len(by_page) == PAGES
    first = Counter(slots[0][0] for slots in by_page.values())
    p_first = {slots[0][0]: slots[0][1] for slots in by_page.values()}
    cells = sorted(p_first)
    assert chi_square_p([first[c] for c in cells], [p_first[c] for c in cells]) > ALPHA
    # the second position, given the first: its logged probability is conditional on it
    given = max(first, key=first.get)
    second = Counter(s[1][0] for s in by_page.values() if s[0][0] == given)
    p_second = {s[1][0]: s[1][1] for s in by_page.values() if s[0][0] == given}
    cells = sorted(p_second)
    assert chi_square_p([second[c] for c in cells], [p_second[c] for c in cells]) > ALPHA
    # wrong: reading the second position's probability as unconditional (the first one's
    # distribution) does not fit
    wrong = [p_first.get(c, 0.0) for c in cells]
    assert chi_square_p([second[c] for c in cells], wrong) < ALPHA


def test_row_order_frequencies_match_the_logged_probability_of_each_order(world, settings):
    settings.EXPLORATION_MAX_ROWS = 2
    configure("row_order", policy="softmax", rate=0.0, params={"temperature": 1.0})
    pages = build_pages(world["member"])
    orders = Counter()
    logged = {}
    for page in pages:
        record = page.page.exploration["row_order"]
        order = tuple(record["chosen"])
        orders[order] += 1
        probability = page.page.row_order_probability
        assert logged.setdefault(order, probability) == pytest.approx(probability)
        assert probability == pytest.approx(np.prod(record["propensities"]))
        shown = [ROW_KINDS[row.key] for row in page.rows if row.key in ROW_KINDS]
        assert shown == [kind for kind in order if kind in shown]  # in the chosen order
    eligible = PageView.objects.first().exploration["row_order"]["eligible"]
    assert len(eligible) >= 3  # continue watching, top picks, trending, new releases
    cells = sorted(logged)
    assert sum(logged.values()) == pytest.approx(1.0, abs=0.02)  # orders never drawn: tiny
    assert chi_square_p([orders[c] for c in cells], [logged[c] for c in cells]) > ALPHA
    # wrong: the order's probability as the product of first-position probabilities
    prior = np.asarray(pages[0].page.exploration["row_order"]["prior"])
    q = dict(zip(eligible, np.exp(prior) / np.exp(prior).sum(), strict=True))
    wrong = [q[a] * q[b] for a, b in cells]
    assert chi_square_p([orders[c] for c in cells], wrong) < ALPHA


def test_artwork_variant_frequencies_match_logged_propensities(world, settings):
    settings.EXPLORATION_ARTWORK_VARIANTS = 4
    configure("artwork", policy="epsilon_greedy", rate=0.4)
    build_pages(world["member"], n=100)
    shown = Impression.objects.all()
    counts = Counter(shown.values_list("artwork", flat=True))
    logged = dict(shown.values_list("artwork", "artwork_propensity").distinct())
    assert set(logged) == {0, 1, 2, 3}
    assert all(
        policy == "epsilon_greedy@v0" for policy in shown.values_list("artwork_policy", flat=True)
    )
    probabilities = [logged[v] for v in range(4)]
    assert probabilities == pytest.approx([0.7, 0.1, 0.1, 0.1])
    observed = [counts[v] for v in range(4)]
    assert chi_square_p(observed, probabilities) > ALPHA
    assert chi_square_p(observed, [0.25] * 4) < ALPHA  # wrong: uniform
    assert chi_square_p(observed, [0.6, 0.4 / 3, 0.4 / 3, 0.4 / 3]) < ALPHA  # wrong: 1 - eps


def test_deterministic_rows_keep_propensity_one_and_say_so(world):
    configure("slots", policy="epsilon_greedy", rate=0.5, positions=1)
    page = homepage_build(member=world["member"], at=NOW, rng=np.random.default_rng(0))
    facts = Impression.objects.filter(page=page.page)
    assert facts.filter(explored=False).exclude(propensity=1.0).count() == 0
    assert facts.filter(explored=True).count() == 1 + 3  # one Top Picks slot, Something different
    assert set(facts.filter(explored=False).values_list("artwork_policy", flat=True)) == {""}


def test_a_kids_page_first_does_not_break_the_next_grown_up_page(world):
    """The titles' arrival times are cached per catalogue snapshot; a kids page (fewer titles
    on offer) built first once left the grown-ups' titles out, and the next grown-up page's
    explored slots failed with a KeyError (a 500 in the lab's browser test)."""
    TitleFactory.create_batch(4, maturity_rating="all", added_at=NOW - timedelta(days=40))
    configure("slots", policy="epsilon_greedy", rate=0.5, positions=1)
    kids = MemberFactory(name="Kid", is_kids=True)
    kids_page = homepage_build(member=kids, at=NOW, rng=np.random.default_rng(0))
    page = homepage_build(member=world["member"], at=NOW, rng=np.random.default_rng(1))
    assert Impression.objects.filter(page=kids_page.page).exists()
    assert Impression.objects.filter(page=page.page, explored=True).exists()


def test_a_pages_thompson_decisions_share_one_block_of_normals(world, monkeypatch, settings):
    """Row order, slots and artwork on Thompson sampling take their Monte Carlo noise from
    one block per page (bandit.choose): every decision's noise from the same block, a new
    block for every page."""
    settings.EXPLORATION_ARTWORK_VARIANTS = 4
    for use in ("row_order", "slots", "artwork"):
        configure(use, policy="thompson", rate=0.0, floor=0.01, positions=1)
    taken = []
    honest = SharedNormals.take

    def take(self, draws, n, rng):
        taken.append((self, draws))  # the block itself, kept: ids are not reused
        return honest(self, draws, n, rng)

    monkeypatch.setattr(SharedNormals, "take", take)
    pages = build_pages(world["member"], n=2)
    uses = ["row_order", "top_picks", SOMETHING_DIFFERENT]
    assert all(use in page.page.exploration for page in pages for use in uses)
    # row order, Top Picks, Something different, the artwork: four decisions a page
    assert len(taken) == 8 and {draws for _, draws in taken} == {200}
    assert len({id(block) for block, _ in taken[:4]}) == 1
    assert len({id(block) for block, _ in taken}) == 2
