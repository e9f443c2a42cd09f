"""Matrix factorization trained as a softmax over the catalogue ("which title comes next?").

score(u, i) = <user_u, item_i> + bias_i. Training maximises the weighted log-likelihood of
each interaction under a softmax over all titles (Covington et al. 2016), exact or, beyond
``full_softmax_max_items`` titles, sampled with the logQ correction: the loss shared with
SASRec, in :mod:`recommender.losses`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recommender.base import IndexedInteractions, Recommender
from recommender.data import Interactions
from recommender.losses import NegativeSampler, SoftmaxTrainingConfig, softmax_loss, weighted_mean
from recommender.metadata import ItemMetadata
from recommender.popularity import recency_popularity


@dataclass
class MFConfig(SoftmaxTrainingConfig):
    """Settings of :class:`MFRecommender`; the defaults train 50k interactions in seconds.

    Every field and its default is :class:`~recommender.losses.SoftmaxTrainingConfig`'s:
    ``weight_decay = 1.0`` is MF's only regulariser, ``batch_size`` counts interactions.
    """


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
    """AdamW on the weight-averaged (sampled) softmax cross-entropy of each interaction."""
    users = torch.from_numpy(data.users)
    items = torch.from_numpy(data.items)
    weights = torch.from_numpy(data.weights)
    sampled = data.n_items > cfg.full_softmax_max_items
    sampler = NegativeSampler.for_data(
        data.items,
        data.weights,
        data.n_items,
        kind=cfg.negative_sampler,
        num_negatives=cfg.num_negatives,
    )

    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    net.train()
    batches_per_epoch = -(-len(users) // cfg.batch_size)
    epochs = max(cfg.epochs, -(-cfg.min_steps // max(batches_per_epoch, 1)))
    for _ in range(epochs):
        order = torch.randperm(len(users), generator=generator)
        for batch in order.split(cfg.batch_size):
            u, i, w = users[batch], items[batch], weights[batch]
            negatives = sampler.draw(generator) if sampled else None
            losses = softmax_loss(
                net.users(u),
                net.item_embedding,
                i,
                bias=net.item_bias,
                negatives=negatives,
                log_q=sampler.log_q,
            )  # (B,)
            loss = weighted_mean(losses, w)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
