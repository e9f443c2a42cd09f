"""Row kinds as the row-order bandit knows them: a stable id per kind.

The ids are actions in logged decisions, so they never change meaning: a new row kind gets
the next id, and a retired one keeps its id unused.
"""

ROW_KINDS: dict[str, int] = {
    "continue_watching": 0,
    "my_list": 1,
    "top_picks": 2,
    "because_you_watched": 3,
    "because_you_liked": 4,
    "trending_now": 5,
    "new_releases": 6,
}
"""Kinds the row-order bandit orders. The billboard stays on top and Something different
right under Top Picks (or first, when Top Picks is not shown): neither is ordered."""

PINNED_FIRST = "billboard"
SOMETHING_DIFFERENT = "something_different"
