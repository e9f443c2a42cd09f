"""Goodness of fit of logged propensities: Pearson's chi-square and its p-value."""

import numpy as np
import torch


def chi_square_p(counts, probabilities) -> float:
    """P(a chi-square this large or larger) if `counts` were drawn with `probabilities`
    (cells with probability 0 must have count 0, else 0.0)."""
    counts = np.asarray(counts, np.float64)
    p = np.asarray(probabilities, np.float64)
    if np.any((p <= 0) & (counts > 0)):
        return 0.0
    keep = p > 0
    n = counts.sum()
    expected = n * p[keep]
    stat = float((((counts[keep] - expected) ** 2) / expected).sum())
    # probabilities that do not sum to 1 put the missing mass nowhere: count it as a cell
    missing = n * (1.0 - p[keep].sum())
    if missing > 1e-9 * n:
        stat += missing
    df = max(int(keep.sum()) - 1, 1)
    return float(torch.special.gammaincc(torch.tensor(df / 2.0), torch.tensor(stat / 2.0)))
