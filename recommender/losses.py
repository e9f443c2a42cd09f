"""The softmax over the catalogue that MF and SASRec both train with, and their shared settings.

Both models treat recommendation as extreme classification, "which title comes next?"
(Covington et al. 2016): a query vector (a member's embedding, or a transformer's hidden
state) is scored against every title's vector, and the loss is the cross-entropy of the
title that was played. Up to ``full_softmax_max_items`` titles the softmax is exact; above
it, it is estimated from ``num_negatives`` negatives shared by a batch, each logit corrected
by ``log Q``, the log of its expected count under the sampler, so the estimate stays close to
the full softmax (Bengio & Senecal 2008; Yi et al. 2019). A negative that is the row's own
positive ("accidental hit") is dropped from that row. With every title drawn once and a
uniform sampler, the sampled loss equals the full softmax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

Sampler = Literal["uniform", "popularity"]


@dataclass
class SoftmaxTrainingConfig:
    """Settings shared by the models trained by a softmax over the catalogue (MF, SASRec).

    A model's config subclasses it and redeclares the fields whose default differs for it;
    ``__post_init__`` here validates every shared field, so a subclass checks only its own.
    """

    dim: int = 32
    """Size of each embedding (and, for SASRec, the transformer's width)."""
    epochs: int = 10
    """Passes over the training data (more when needed to reach ``min_steps``)."""
    min_steps: int = 300
    """Least optimizer steps in all: a small log gets more epochs instead of too few steps."""
    batch_size: int = 1024
    """Training examples per optimizer step."""
    lr: float = 0.01
    """AdamW learning rate."""
    weight_decay: float = 1.0
    """AdamW decoupled weight decay (shrinks weights by lr * weight_decay a step)."""
    init_std: float = 0.1
    """Standard deviation of the normal initial ID embeddings."""
    full_softmax_max_items: int = 5000
    """Use the exact softmax up to this many titles, sampled softmax above it."""
    num_negatives: int = 1000
    """Negatives drawn per batch (shared by its rows) when the softmax is sampled."""
    negative_sampler: Sampler = "uniform"
    """Proposal for negatives: uniform, or proportional to (weighted count + 1)."""
    prior_half_life_days: float = 7.0
    """Half-life of the recency-weighted popularity served to members the model cannot score."""
    seed: int = 0
    """Seeds initialisation, shuffling and sampling when ``fit`` gets no ``rng``."""

    def __post_init__(self) -> None:
        for name in (
            "dim",
            "epochs",
            "min_steps",
            "batch_size",
            "full_softmax_max_items",
            "num_negatives",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and self.weight_decay >= 0 and self.init_std > 0):
            raise ValueError("lr and init_std must be > 0 and weight_decay >= 0")
        if self.negative_sampler not in ("uniform", "popularity"):
            raise ValueError(
                f"negative_sampler must be 'uniform' or 'popularity', got {self.negative_sampler!r}"
            )
        if not self.prior_half_life_days > 0:
            raise ValueError(f"prior_half_life_days must be > 0, got {self.prior_half_life_days}")


@dataclass(frozen=True)
class NegativeSampler:
    """Draws a batch's shared negatives and holds the logQ correction of every title."""

    kind: Sampler
    """"uniform" or "popularity" (proportional to weighted count + 1)."""
    proposal: torch.Tensor
    """(n_items,) float64 probability of drawing each title."""
    log_q: torch.Tensor
    """(n_items,) float32 log of each title's expected count among ``num_negatives`` draws."""
    num_negatives: int
    """Draws per batch."""

    @classmethod
    def for_data(
        cls,
        items: np.ndarray,
        weights: np.ndarray,
        n_items: int,
        *,
        kind: Sampler,
        num_negatives: int,
    ) -> NegativeSampler:
        """The sampler for training plays of columns ``items`` (N,) with ``weights`` (N,).

        Under the uniform sampler the correction is one constant for every title, which
        cancels in the softmax; under the popularity sampler it stops popular titles, drawn
        as negatives far more often, from being pushed down just for being popular.
        """
        if kind == "uniform":
            proposal = torch.full((n_items,), 1.0 / n_items, dtype=torch.float64)
        else:
            counts = np.bincount(items, weights=weights, minlength=n_items) + 1.0
            proposal = torch.from_numpy(counts / counts.sum())
        log_q = torch.log(num_negatives * proposal).float()
        return cls(kind=kind, proposal=proposal, log_q=log_q, num_negatives=num_negatives)

    def draw(self, generator: torch.Generator) -> torch.Tensor:
        """(num_negatives,) int64 columns, with replacement, from ``generator`` only."""
        if self.kind == "uniform":
            return torch.randint(len(self.proposal), (self.num_negatives,), generator=generator)
        return torch.multinomial(self.proposal, self.num_negatives, True, generator=generator)


def softmax_loss(
    query: torch.Tensor,
    table: torch.Tensor,
    targets: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    negatives: torch.Tensor | None = None,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """(N,) ``-log p(target)`` of each query (N, D) over the titles of ``table`` (I, D).

    ``bias`` (I,) is added to every title's logit. Without ``negatives`` the softmax is
    exact, over all I titles; with ``negatives`` (S,) and ``log_q`` (I,) it is over {target}
    + the shared negatives, every logit corrected by ``-log_q`` and accidental hits dropped.
    Rows are gathered with ``F.embedding``, whose CPU backward is deterministic.
    """
    if negatives is None:
        logits = query @ table.T  # (N, I)
        return F.cross_entropy(logits if bias is None else logits + bias, targets, reduction="none")
    if log_q is None:
        raise ValueError("a sampled softmax needs log_q, the sampler's correction")
    # each bias is gathered before its vectors: the order MF always used, which fixes the
    # order of gradient sums into the tables and so keeps seeded fits identical to the digit
    pos_bias = None if bias is None else F.embedding(targets, bias[:, None]).squeeze(-1)
    pos = (query * F.embedding(targets, table)).sum(-1)  # (N,)
    if pos_bias is not None:
        pos = pos + pos_bias
    pos = pos - log_q[targets]
    neg_bias = None if bias is None else F.embedding(negatives, bias[:, None]).squeeze(-1)
    neg = query @ F.embedding(negatives, table).T  # (N, S)
    if neg_bias is not None:
        neg = neg + neg_bias
    neg = neg - log_q[negatives]
    neg = neg.masked_fill(negatives[None, :] == targets[:, None], -math.inf)
    logits = torch.cat([pos[:, None], neg], 1)  # (N, 1 + S)
    return -F.log_softmax(logits, 1)[:, 0]


def weighted_mean(losses: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Scalar ``sum(w * loss) / sum(w)``; 0 for an all-zero weight (a batch of padding)."""
    return (losses * weights).sum() / weights.sum().clamp(min=1e-8)
