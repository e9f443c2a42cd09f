"""The loop-health measures, as pure functions of counts and sets (the selectors feed them).

Each one answers a question about the feedback loop that the fact log can settle:

- *coverage*: what share of the catalogue on offer was shown at all;
- *exposure Gini*: how unequally impressions are spread over the titles on offer (0: every
  title shown equally often; near 1: a few titles take every slot). A loop that feeds on its
  own popularity drives it up;
- *homogenization*: how alike the pages of different members are (mean pairwise Jaccard
  similarity of their title sets, after Chaney, Stewart and Engelhardt, "How algorithmic
  confounding in recommendation systems increases homogeneity and decreases utility", 2018);
- *click-through*: plays per impression, by row and by position (the position-bias curve).
"""

from collections.abc import Sequence
from itertools import combinations


def gini(counts: Sequence[int], *, n: int) -> float | None:
    """Gini coefficient of `counts` spread over `n` items, the items not in `counts` having 0.

    With x sorted ascending and i = 1..n: G = sum((2i - n - 1) x_i) / (n sum x). None when
    nothing was counted or there are no items.
    """
    total = sum(counts)
    if n <= 0 or total <= 0:
        return None
    if len(counts) > n:
        raise ValueError(f"{len(counts)} counts for {n} items")
    xs = [0] * (n - len(counts)) + sorted(counts)
    return sum((2 * i - n - 1) * x for i, x in enumerate(xs, start=1)) / (n * total)


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def mean_pairwise_jaccard(sets: Sequence[frozenset[int]]) -> float | None:
    """Mean Jaccard similarity over every pair of `sets`; None with fewer than two."""
    if len(sets) < 2:
        return None
    pairs = list(combinations(sets, 2))
    return sum(jaccard(a, b) for a, b in pairs) / len(pairs)


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None
