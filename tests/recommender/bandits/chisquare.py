"""The propensity check every policy's tests share: logged probabilities vs frequencies.

Over many seeded choices, group each position's pick by its prefix (the position and the
actions above it). Within a group the logged propensity of an action is the policy's claim
of how often that action follows that prefix; Pearson's chi-square compares the claimed
counts with the observed ones, with one extra cell for the probability of actions never
drawn (observed 0), and cells expected below 5 pooled. For Monte Carlo estimates (Thompson
sampling) the claim is the mean logged estimate, renormalized when the actions seen carry
almost all of it (an unbiased estimate's means sum to 1 only up to noise). The p-value is the chi-square
survival function, ``Q(df / 2, stat / 2)`` (torch's regularized upper incomplete gamma;
scipy is not in the venv). A policy passes at ``p > 1e-3``; a broken formula must give
``p < 1e-6`` (each policy's tests check one).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from recommender.bandits import Choice

MIN_EXPECTED = 5.0


def chi_square(choices: list[Choice], per_group: bool = False) -> tuple[float, int, float]:
    """(statistic, degrees of freedom, p-value) of the logged propensities (module doc).

    ``per_group``: the choices come from ``choose_each``, where entry ``g`` is group ``g``'s
    own k=1 pick (no prefix).
    """
    picks: dict[tuple, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    estimated = any(choice.estimated for choice in choices)
    for choice in choices:
        for j, (action, p) in enumerate(zip(choice.actions, choice.propensities, strict=True)):
            key = ("group", j) if per_group else (j, *map(int, choice.actions[:j]))
            picks[key][int(action)].append(float(p))
    statistic, df = 0.0, 0
    for by_action in picks.values():
        total = sum(len(ps) for ps in by_action.values())
        observed = [len(ps) for ps in by_action.values()]
        claimed = [float(np.mean(ps)) for ps in by_action.values()]
        if estimated and sum(claimed) > 0.99:
            # Monte Carlo estimates: their means sum to 1 only up to noise, so the cell of
            # "actions never drawn" would be noise too; compare the shape instead
            claimed = [c / sum(claimed) for c in claimed]
        observed.append(0)
        claimed.append(max(0.0, 1.0 - sum(claimed)))
        expected = np.array(claimed) * total
        observed = np.array(observed, float)
        if (observed[expected == 0] > 0).any():
            return float("inf"), 1, 0.0
        small = expected < MIN_EXPECTED
        cells_o = list(observed[~small]) + ([observed[small].sum()] if small.any() else [])
        cells_e = list(expected[~small]) + ([expected[small].sum()] if small.any() else [])
        cells_o, cells_e = np.array(cells_o), np.array(cells_e)
        keep = cells_e > 0
        if keep.sum() < 2:
            continue
        statistic += float((((cells_o - cells_e) ** 2)[keep] / cells_e[keep]).sum())
        df += int(keep.sum()) - 1
    p_value = float(torch.special.gammaincc(torch.tensor(df / 2.0), torch.tensor(statistic / 2)))
    return statistic, df, p_value


def draws(choose, n: int, seed: int = 0) -> list[Choice]:
    """``n`` choices ``choose(rng)`` under one seeded generator."""
    rng = np.random.default_rng(seed)
    return [choose(rng) for _ in range(n)]
