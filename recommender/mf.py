"""Matrix factorization trained as a softmax over the catalogue ("which title comes next?").

score(u, i) = <user_u, item_i> + bias_i. Training maximises the weighted log-likelihood of
each interaction under a softmax over all titles (Covington et al. 2016). Beyond
``full_softmax_max_items`` titles the softmax is estimated from sampled negatives, each logit
corrected by log Q (its expected count under the sampler) so the estimate stays close to
the full softmax (Bengio & Senecal 2008; Yi et al. 2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recommender.base import IndexedInteractions, Recommender
from recommender.data import Interactions
from recommender.metadata import ItemMetadata
from recommender.popularity import recency_popularity


@dataclass
class MFConfig:
    """Settings of :class:`MFRecommender`; the defaults train 50k interactions in seconds."""

    dim: int = 32
    """Size of each user and item embedding."""
    epochs: int = 10
    """Passes over the training interactions (more when needed to reach ``min_steps``)."""
    min_steps: int = 300
    """Least optimizer steps in all: a small log gets more epochs instead of too few steps."""
    batch_size: int = 1024
    """Interactions per optimizer step."""
    lr: float = 0.01
    """AdamW learning rate."""
    weight_decay: float = 1.0
    """AdamW decoupled weight decay (shrinks by lr * weight_decay a step); the only regulariser."""
    init_std: float = 0.1
    """Standard deviation of the normal initial embeddings (biases start at 0)."""
    full_softmax_max_items: int = 5000
    """Use the exact softmax up to this many titles, sampled softmax above it."""
    num_negatives: int = 1000
    """Negatives drawn per batch (shared by its rows) when the softmax is sampled."""
    negative_sampler: Literal["uniform", "popularity"] = "uniform"
    """Proposal for negatives: uniform, or proportional to (weighted count + 1)."""
    prior_half_life_days: float = 7.0
    """Half-life of the recency-weighted popularity served to unknown members."""
    seed: int = 0
    """Seeds initialisation, shuffling and sampling when ``fit`` gets no ``rng``."""

    def __post_init__(self) -> None:
        for name in (
            "dim",
            "epochs",
            "min_steps",
            "batch_size",
            "num_negatives",
            "full_softmax_max_items",
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


class MatrixFactorization(nn.Module):
    """User and item embeddings plus an item bias; a user's logits over items are a dot product.

    Parameters are created empty and filled by :meth:`reset_parameters` from an explicit
    generator, so building the module never touches torch's global random state. Rows are
    gathered with ``F.embedding``, whose CPU backward is deterministic; plain indexing
    (``weight[ids]``) accumulates gradients in a thread-dependent order.
    """

    def __init__(self, n_users: int, n_items: int, dim: int) -> None:
        super().__init__()
        self.user_embedding = nn.Parameter(torch.empty(n_users, dim))
        self.item_embedding = nn.Parameter(torch.empty(n_items, dim))
        self.item_bias = nn.Parameter(torch.zeros(n_items))

    def reset_parameters(self, *, std: float, generator: torch.Generator) -> None:
        nn.init.normal_(self.user_embedding, std=std, generator=generator)
        nn.init.normal_(self.item_embedding, std=std, generator=generator)
        nn.init.zeros_(self.item_bias)

    def users(self, users: torch.Tensor) -> torch.Tensor:
        """Embeddings (B, D) of ``users`` (B,)."""
        return F.embedding(users, self.user_embedding)

    def items(self, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings (I, D) and biases (I,) of ``items`` (I,)."""
        bias = F.embedding(items, self.item_bias[:, None]).squeeze(-1)  # (I,)
        return F.embedding(items, self.item_embedding), bias

    def forward(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, I) of ``users`` (B,) against ``items`` (I,), or all items if None."""
        u = self.users(users)  # (B, D)
        if items is None:
            return u @ self.item_embedding.T + self.item_bias  # (B, n_items)
        v, bias = self.items(items)
        return u @ v.T + bias  # (B, I)


def sampled_softmax_loss(
    net: MatrixFactorization,
    users: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    log_expected: torch.Tensor,
) -> torch.Tensor:
    """(B,) -log p(positive) under a softmax over {positive} + shared ``negatives`` (S,).

    Every logit is corrected by the log of its item's expected count under the sampler
    (``log_expected``, shape (n_items,)); a negative that happens to be the row's positive
    ("accidental hit") is dropped from that row.
    """
    u = net.users(users)  # (B, D)
    v, bias = net.items(positives)  # (B, D), (B,)
    pos = (u * v).sum(-1) + bias - log_expected[positives]  # (B,)
    neg = net(users, negatives) - log_expected[negatives]  # (B, S)
    neg = neg.masked_fill(negatives[None, :] == positives[:, None], -math.inf)
    logits = torch.cat([pos[:, None], neg], dim=1)  # (B, 1 + S)
    return -F.log_softmax(logits, dim=1)[:, 0]


class MFRecommender(Recommender):
    """Matrix factorization with a (sampled) softmax loss; unknown members get the prior."""

    kind = "mf"
    config_class = MFConfig

    def __init__(self, config: MFConfig | None = None) -> None:
        super().__init__(config)
        self.net: MatrixFactorization | None = None

    def fit(
        self,
        interactions: Interactions,
        *,
        items: ItemMetadata | None = None,
        rng: np.random.Generator | None = None,
        warm_start: Recommender | None = None,
    ) -> Self:
        """Train from scratch; ``rng`` (if given) replaces ``config.seed`` as the seed source.

        Same data, same config and same seed give identical scores: every random draw comes
        from one local ``torch.Generator``. MF cannot read metadata: titles of ``items``
        without plays get columns whose embedding only ever receives negative gradient, so
        they rank low. ``warm_start`` is ignored (MF retrains from scratch).
        """
        cfg = self.config
        data = self._index(interactions, items)
        self.prior = recency_popularity(data, half_life_days=cfg.prior_half_life_days)
        seed = cfg.seed if rng is None else int(rng.integers(2**63 - 1))
        generator = torch.Generator().manual_seed(seed)
        net = MatrixFactorization(data.n_users, data.n_items, cfg.dim)
        net.reset_parameters(std=cfg.init_std, generator=generator)
        self.net = net
        _train(net, data, cfg, generator)
        net.eval()
        return self

    def _score_known(self, rows: np.ndarray, *, at: np.ndarray | None) -> np.ndarray:
        assert self.net is not None, "fit() or load() sets the network"
        with torch.inference_mode():
            return self.net(torch.from_numpy(rows)).numpy().astype(np.float32, copy=False)

    def _state_dict(self) -> dict[str, torch.Tensor]:
        assert self.net is not None
        return {name: t.detach().clone() for name, t in self.net.state_dict().items()}

    def _extend_items(self, new: ItemMetadata) -> None:
        """New titles get a zero embedding and the lowest bias: below every known title."""
        assert self.net is not None
        n = len(new)
        with torch.no_grad():
            embedding = torch.cat([self.net.item_embedding, torch.zeros(n, self.config.dim)])
            low = self.net.item_bias.min() if len(self.net.item_bias) else torch.tensor(0.0)
            bias = torch.cat([self.net.item_bias, low.expand(n)])
        self.net.item_embedding = nn.Parameter(embedding)
        self.net.item_bias = nn.Parameter(bias)

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        net = MatrixFactorization(len(self.user_ids), len(self.item_ids), self.config.dim)
        net.load_state_dict(state)  # strict: a missing, extra or misshapen tensor raises
        net.eval()
        self.net = net


def _train(
    net: MatrixFactorization,
    data: IndexedInteractions,
    cfg: MFConfig,
    generator: torch.Generator,
) -> None:
    """AdamW on the weight-averaged softmax cross-entropy of each interaction."""
    users = torch.from_numpy(data.users)
    items = torch.from_numpy(data.items)
    weights = torch.from_numpy(data.weights)
    sampled = data.n_items > cfg.full_softmax_max_items
    proposal, log_expected = _negative_proposal(data, cfg)

    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    net.train()
    batches_per_epoch = -(-len(users) // cfg.batch_size)
    epochs = max(cfg.epochs, -(-cfg.min_steps // max(batches_per_epoch, 1)))
    for _ in range(epochs):
        order = torch.randperm(len(users), generator=generator)
        for batch in order.split(cfg.batch_size):
            u, i, w = users[batch], items[batch], weights[batch]
            if sampled:
                if cfg.negative_sampler == "uniform":
                    negatives = torch.randint(
                        data.n_items, (cfg.num_negatives,), generator=generator
                    )
                else:
                    negatives = torch.multinomial(
                        proposal, cfg.num_negatives, replacement=True, generator=generator
                    )
                losses = sampled_softmax_loss(net, u, i, negatives, log_expected)
            else:
                losses = F.cross_entropy(net(u), i, reduction="none")  # (B,)
            loss = (losses * w).sum() / w.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def _negative_proposal(
    data: IndexedInteractions, cfg: MFConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """The sampler's item probabilities (n_items,) and log expected count per batch (n_items,).

    Under the uniform sampler the correction is one constant for every item, which cancels
    in the softmax; under the popularity sampler it stops popular titles, drawn as negatives
    far more often, from being pushed down just for being popular (Yi et al. 2019).
    """
    if cfg.negative_sampler == "uniform":
        proposal = torch.full((data.n_items,), 1.0 / data.n_items, dtype=torch.float64)
    else:
        counts = np.bincount(data.items, weights=data.weights, minlength=data.n_items) + 1.0
        proposal = torch.from_numpy(counts / counts.sum())
    return proposal, torch.log(cfg.num_negatives * proposal).float()
