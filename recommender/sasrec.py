"""SASRec with continuous time and a metadata item tower.

The sequence model of Kang and McAuley (*Self-Attentive Sequential Recommendation*, ICDM
2018): causal self-attention over a member's plays, the output at position j scored against
every title to predict play j + 1, item embeddings shared between input and output. Added,
following the lessons of Steck et al. (*Deep Learning for Recommender Systems: A Netflix
Case Study*, 2021), that deep models win through heterogeneous features, time above all:

- **Continuous time.** Each play carries sin/cos of its time of day and week and
  ``log1p(hours until the next request)``; the output at j is conditioned on the *request*
  time t_{j+1} (time of day/week, time since the last play). At serving the request time
  is ``at``. All from :mod:`recommender.features`, the functions the platform logs with.
- **Metadata item tower** (:mod:`recommender.item_tower`): each title's vector blends its ID
  embedding with a metadata embedding through a gate that depends on its days in catalogue,
  so a title added today ranks by what it is. During training a random ``id_dropout``
  share of titles is represented by metadata alone, so the tower has to stand on its own.
- **Sampled softmax with logQ correction** above ``full_softmax_max_items`` titles (Bengio
  and Senecal 2008; Yi et al. 2019), exact softmax below.
- **Multi-token prediction** (Gloeckle et al., *Better & Faster Large Language Models via
  Multi-token Prediction*, 2024): with ``mtp_k > 1``, small extra heads predict plays j + 2 ..
  j + k from the same hidden state, a denser training signal; serving uses the next-play
  head only.
- **Incremental retraining.** ``fit(warm_start=previous)`` starts from the previous
  version's weights; titles new since then get ID rows initialised from the metadata tower;
  then an orthogonal Procrustes rotation (Schoenemann 1966) maps the new item space onto the
  previous one. Rotating queries and items by the same orthogonal R leaves every score
  unchanged, so alignment costs no accuracy; ``config.extra`` reports the drift it removes.

Optional, all off by default (docs/models.md, "Optional tools", has their measurements):

- **Device** (``use_device``): each play's device and the request's (``score(devices=...)``)
  as hashed embeddings, the request's conditioning the output as the request time does.
- **Interaction tokenization** (``merge_repeats``): consecutive plays of one title are one
  token carrying log play count and log total watch weight (:func:`merge_repeats`).
- **Auxiliary heads** (``watch_weight``, ``genre_weight``): the next play's watch fraction
  and genre from the same hidden state; :meth:`SASRecRecommender.objective_losses` reports
  each objective's loss on any log.
- **Positions from the start** (``position_from="start"``), which the KV cache of
  :mod:`recommender.sasrec_cache` needs.

Where it runs (``torch_device``, not to be confused with ``use_device``, the member's playback
device): "cpu" by default; "cuda", "cuda:N" or "auto" fit, and score while the fitted model is
in memory, on a GPU. Randomness is drawn on the CPU whatever the device, and a checkpoint is
always CPU tensors that load on the CPU (the platform serves there).
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recommender.base import History, Recommender
from recommender.data import Interactions
from recommender.features import N_CYCLIC, cyclic_time, time_since
from recommender.item_tower import ItemFeatures, ItemTower
from recommender.losses import (
    NegativeSampler,
    Sampler,
    SoftmaxTrainingConfig,
    softmax_loss,
    weighted_mean,
)
from recommender.metadata import ItemMetadata
from recommender.popularity import recency_popularity

N_TIME = N_CYCLIC + 1
"""Per-position time inputs: cyclic time (4) and log hours to the next request (1)."""
AUTO_MAX_LEN = (50, 200)
"""Bounds of the history length ``fit`` picks when ``max_len = 0``: 50 was the best fixed
length on the simulator's logs (24, their 90th percentile, lost 0.012 NDCG@10 there), 200
the SASRec papers' on MovieLens."""
MIN_VALIDATION_MEMBERS = 20
"""Fewer members with 3+ plays than this: no early stopping (the choice would be noise)."""


@dataclass
class SASRecConfig(SoftmaxTrainingConfig):
    """Settings of :class:`SASRecRecommender`; the defaults adapt to the data ``fit`` gets
    (history length, and the epoch count by early stopping on each member's last play).

    The fields shared with MF are :class:`~recommender.losses.SoftmaxTrainingConfig`'s;
    those redeclared here have a different default for the transformer.
    """

    epochs: int = 20
    """Passes over the training windows when there is no early stopping (``validation_members
    = 0``, or too few members to validate on); more when needed to reach ``min_steps``."""
    min_steps: int = 150
    """Least optimizer steps in all, so a small log still trains (early stopping too waits)."""
    max_epochs: int = 200
    """Most passes with early stopping; ``patience`` usually ends training well before."""
    patience: int = 10
    """Epochs without a better validation NDCG@10 before training stops (best weights kept)."""
    validation_members: int = 1000
    """Members (a seeded sample of those with 3+ plays) whose last play is held out of
    training to choose when to stop; 0: no early stopping, train ``epochs`` passes."""
    refit: bool = True
    """After early stopping, train again from scratch on all plays, held-out ones included,
    for the best epoch count, as EASE refits with its chosen lambda: the held-out plays are
    each member's latest, the most telling (about 1.7x the fit time)."""
    batch_size: int = 64
    """Windows (sequences) per optimizer step."""
    lr: float = 3e-3
    """AdamW learning rate."""
    weight_decay: float = 0.01
    """AdamW decoupled weight decay."""
    init_std: float = 0.05
    """Standard deviation of the initial ID embeddings."""
    full_softmax_max_items: int = 5000
    """Exact softmax up to this many titles, sampled softmax with logQ correction above (the
    exact one is far stronger for SASRec: Klenitskiy & Vasilev 2023; Petrov & Macdonald 2023)."""
    num_negatives: int = 512
    """Negatives shared by a batch when the softmax is sampled."""
    negative_sampler: Sampler = "popularity"
    """Proposal for negatives (popularity: proportional to weighted count + 1)."""
    prior_half_life_days: float = 7.0
    """Half-life of the recency-weighted popularity served to members with no history."""
    seed: int = 0
    """Seeds initialisation, dropout, shuffling and sampling when ``fit`` gets no ``rng``."""
    blocks: int = 2
    """Transformer blocks (causal self-attention + feed-forward, pre-LayerNorm)."""
    heads: int = 1
    """Attention heads; must divide ``dim``."""
    ffn_mult: int = 2
    """Feed-forward hidden width as a multiple of ``dim``."""
    max_len: int = 0
    """Longest history attended to; training cuts longer histories into windows. 0: chosen by
    ``fit`` from the data (the 90th percentile of history lengths, 50 to 200) and saved."""
    dropout: float = 0.2
    """Dropout on embeddings, attention output and feed-forward output."""
    mtp_k: int = 1
    """Predict the next ``mtp_k`` plays (1: next play only)."""
    mtp_weight: float = 0.3
    """Loss weight of each extra multi-token head."""
    use_time: bool = True
    """Feed continuous time features (off: an ablation)."""
    use_metadata: bool = True
    """Blend the metadata tower into item vectors (off: ID embeddings only)."""
    id_dropout: float = 0.25
    """Share of titles shown to a training step through metadata alone."""
    genre_buckets: int = 128
    """Hash buckets of genres."""
    maturity_buckets: int = 16
    """Hash buckets of maturity ratings."""
    text_buckets: int = 2048
    """Hash buckets of synopsis words."""
    warm_start_epochs: int = 5
    """Epochs of a warm-started fit (also subject to ``min_steps // 3``)."""
    align: bool = True
    """After a warm start, rotate the item space onto the previous version's."""
    use_device: bool = False
    """Embed the device of each play and of the request (the ``device`` column of the log,
    the ``device`` of ``score``); off by default until it measures better on real logs."""
    device_buckets: int = 16
    """Hash buckets of device names (bucket 0 is "unknown" and adds nothing)."""
    merge_repeats: bool = False
    """Interaction tokenization: consecutive plays of the same title become one token that
    carries the play count and total watch time (``log1p`` of each, as inputs)."""
    watch_weight: float = 0.0
    """Loss weight of the head that predicts the next play's watch fraction (its weight,
    clipped to [0, 1]) from the hidden state and that title's vector; 0: no head."""
    genre_weight: float = 0.0
    """Loss weight of the head that predicts the next play's genre (softmax over the genre
    buckets, a title's genres sharing the mass; needs metadata); 0: no head."""
    position_from: str = "end"
    """Learned positions counted back from the newest play ("end", the SASRec default here)
    or from the window's first play ("start": a new play leaves earlier positions alone,
    which the KV cache of :mod:`recommender.sasrec_cache` needs)."""
    torch_device: str = "cpu"
    """Where torch fits and scores: "cpu", "cuda", "cuda:N", or "auto" (cuda when torch sees
    a GPU, else cpu). Not ``use_device``, which reads the member's playback device. A
    checkpoint is saved as CPU tensors and loads on the CPU whatever this says."""
    extra: dict[str, float] = field(default_factory=dict)
    """Filled by ``fit``: warm-start drift before/after alignment, final training loss."""

    def __post_init__(self) -> None:
        super().__post_init__()
        resolve_torch_device(self.torch_device)  # raises naming a bad or absent device
        for name in (
            "blocks",
            "heads",
            "ffn_mult",
            "max_epochs",
            "mtp_k",
            "genre_buckets",
            "maturity_buckets",
            "text_buckets",
            "warm_start_epochs",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_len < 0 or self.patience < 1 or self.validation_members < 0:
            raise ValueError(
                f"max_len and validation_members must be >= 0 and patience >= 1, got "
                f"{self.max_len}, {self.validation_members}, {self.patience}"
            )
        if self.device_buckets < 2:
            raise ValueError(
                f"device_buckets must be >= 2 (0 is unknown), got {self.device_buckets}"
            )
        if self.position_from not in ("end", "start"):
            raise ValueError(f"position_from must be 'end' or 'start', got {self.position_from!r}")
        if self.watch_weight < 0 or self.genre_weight < 0:
            raise ValueError(
                f"watch_weight and genre_weight must be >= 0, got "
                f"{self.watch_weight}, {self.genre_weight}"
            )
        if self.dim % self.heads:
            raise ValueError(f"heads={self.heads} must divide dim={self.dim}")
        if not (0 <= self.dropout < 1 and 0 <= self.id_dropout < 1):
            raise ValueError(
                f"dropout and id_dropout must be in [0, 1), got {self.dropout}, {self.id_dropout}"
            )


TORCH_DEVICE = re.compile(r"cpu|auto|cuda(:\d+)?")
"""The ``torch_device`` values SASRecConfig accepts."""


def resolve_torch_device(name: str) -> torch.device:
    """The torch device ``torch_device`` names ("auto": cuda when available, else cpu).

    Raises ValueError naming the value when it is not one of "cpu", "cuda", "cuda:N",
    "auto", or names a GPU this machine does not have."""
    if not isinstance(name, str) or not TORCH_DEVICE.fullmatch(name):
        raise ValueError(f"torch_device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"torch_device={name!r}, but torch sees no CUDA GPU on this machine "
                "(use 'cpu', or 'auto' for a GPU when there is one)"
            )
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"torch_device={name!r}, but this machine has {torch.cuda.device_count()} "
                "CUDA GPU(s)"
            )
    return torch.device(name)


class Block(nn.Module):
    """Pre-LayerNorm causal self-attention and feed-forward, each with a residual."""

    def __init__(self, dim: int, heads: int, ffn_mult: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, ffn_mult * dim), nn.GELU(), nn.Linear(ffn_mult * dim, dim)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self._qkv(x)  # 3 x (B, H, T, D/H)
        if mask is None:  # no padding: plain causal attention, the fast serving path
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, D/H)
        return self._out(x, y)

    def forward_cached(
        self, x: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``forward`` for n new positions after m cached ones: x (B, n, D), past (B, H, m,
        D/H); returns the new positions' output and their own keys and values."""
        q, k, v = self._qkv(x)  # 3 x (B, H, n, D/H)
        m, n = past_k.shape[2], x.shape[1]
        keys, values = torch.cat([past_k, k], 2), torch.cat([past_v, v], 2)  # (B, H, m + n, .)
        where = torch.arange(m + n, device=x.device)
        mask = where[None] <= (m + where[:n])[:, None]  # (n, m + n)
        y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
        return self._out(x, y), k, v

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)  # 3 x (B, T, D)
        return tuple(z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))

    def _out(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.ffn(self.ln2(x)))


N_REPEAT = 2
"""Per-token inputs of a merged run of plays: log1p(count), log1p(total watch time)."""


class SASRecNet(nn.Module):
    """Item table (ID embeddings blended with the metadata tower), the causal encoder, and
    the optional inputs (devices, merged repeats) and heads (multi-token, watch, genre)."""

    def __init__(self, n_items: int, cfg: SASRecConfig) -> None:
        super().__init__()
        d = cfg.dim
        self.position_from = cfg.position_from
        self.item_embedding = nn.Parameter(torch.randn(n_items, d) * cfg.init_std)
        self.position = nn.Parameter(torch.randn(cfg.max_len, d) * 0.02)
        self.time_in = nn.Linear(N_TIME, d) if cfg.use_time else None
        self.time_query = nn.Linear(N_TIME, d) if cfg.use_time else None
        self.tower = (
            ItemTower(
                d,
                genre_buckets=cfg.genre_buckets,
                maturity_buckets=cfg.maturity_buckets,
                text_buckets=cfg.text_buckets,
            )
            if cfg.use_metadata
            else None
        )
        self.blocks = nn.ModuleList(
            Block(d, cfg.heads, cfg.ffn_mult, cfg.dropout) for _ in range(cfg.blocks)
        )
        self.ln_out = nn.LayerNorm(d)
        self.mtp = nn.ModuleList(nn.Linear(d, d) for _ in range(cfg.mtp_k - 1))
        self.drop = nn.Dropout(cfg.dropout)
        self.register_buffer("rotation", torch.eye(d))  # (D, D) alignment, see fit
        # optional parts: None when off, so older checkpoints load unchanged
        self.device_in = (
            nn.Embedding(cfg.device_buckets, d, padding_idx=0) if cfg.use_device else None
        )
        self.device_query = (
            nn.Embedding(cfg.device_buckets, d, padding_idx=0) if cfg.use_device else None
        )
        self.repeat_in = nn.Linear(N_REPEAT, d) if cfg.merge_repeats else None
        self.watch_head = (
            nn.Sequential(nn.Linear(2 * d, d), nn.GELU(), nn.Linear(d, 1))
            if cfg.watch_weight > 0
            else None
        )
        self.genre_head = nn.Linear(d, cfg.genre_buckets) if cfg.genre_weight > 0 else None
        for layer in (self.time_in, self.time_query, self.repeat_in):
            if layer is not None:  # start as plain SASRec; log-hours would swamp the items
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
        for table in (self.device_in, self.device_query):
            if table is not None:
                nn.init.normal_(table.weight, std=0.02)
                with torch.no_grad():
                    table.weight[0].zero_()

    def table(
        self,
        features: ItemFeatures,
        at: float,
        id_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(I, D) item vectors at time ``at``; titles where ``id_mask`` is False use metadata.
        ``features`` and ``id_mask`` may be on the CPU: they are moved to the net's device."""
        ids = self.item_embedding
        if self.tower is None:
            return ids
        meta = self.tower(features, features.numeric(at))  # (I, D)
        gate = self.tower.gate(features.catalog_days(at).to(ids.device))  # (I, 1)
        if id_mask is not None:
            gate = gate * id_mask.to(ids.device)[:, None]
        return gate * ids + (1 - gate) * meta

    def embed(self, table: torch.Tensor, tokens: Tokens, start: int = 0) -> torch.Tensor:
        """(B, T, D) inputs of the encoder: item, position, time, device, repeat count.

        With ``position_from = "start"`` token t of a row sits at position ``start + t -
        (padding of the row)``; with "end" the last token sits at the last position.
        """
        items = tokens.items.clamp(min=0)
        x = F.embedding(items, table)  # (B, T, D)
        t = items.shape[1]
        if self.position_from == "end":
            x = x + self.position[-t:]
        else:
            pad = (tokens.items < 0).sum(1, keepdim=True)  # (B, 1) left padding
            where = (start + torch.arange(t, device=items.device)[None] - pad).clamp(min=0)
            x = x + F.embedding(where, self.position)
        if self.time_in is not None:
            x = x + self.time_in(tokens.event_time)
        if self.device_in is not None:
            x = x + self.device_in(tokens.devices)
        if self.repeat_in is not None:
            x = x + self.repeat_in(tokens.repeat)
        return self.drop(x)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """(B, T, D) hidden states of the encoder inputs ``x`` (``mask``: see attention_mask)."""
        for block in self.blocks:
            x = block(x, mask)
        return self.ln_out(x)

    def query(
        self, h: torch.Tensor, query_time: torch.Tensor | None, devices: torch.Tensor | None
    ) -> torch.Tensor:
        """Condition hidden states (..., D) on the request: its time (..., 5), device (...)."""
        if self.time_query is not None and query_time is not None:
            h = h + self.time_query(query_time)
        if self.device_query is not None and devices is not None:
            h = h + self.device_query(devices)
        return h


@dataclass
class Tokens:
    """Encoder inputs for a batch of sequences, left-padded (item -1)."""

    items: torch.Tensor
    """(B, T) int64 columns, -1 for padding."""
    event_time: torch.Tensor
    """(B, T, 5) time inputs of each token (see :func:`time_inputs`)."""
    devices: torch.Tensor
    """(B, T) int64 device bucket of each token (0 unknown)."""
    repeat: torch.Tensor
    """(B, T, 2) log1p(count) and log1p(total watch time) of each token."""

    def __getitem__(self, index: object) -> Tokens:
        return Tokens(
            self.items[index], self.event_time[index], self.devices[index], self.repeat[index]
        )

    def to(self, device: torch.device) -> Tokens:
        """These tokens on ``device`` (themselves when already there)."""
        return Tokens(
            self.items.to(device),
            self.event_time.to(device),
            self.devices.to(device),
            self.repeat.to(device),
        )


def device_codes(devices: np.ndarray | list | None, buckets: int, n: int) -> np.ndarray:
    """(n,) int64 hashed device buckets 1..buckets-1; 0 for an unknown (blank, None) device."""
    if devices is None:
        return np.zeros(n, np.int64)
    out = np.zeros(len(devices), np.int64)
    for row, name in enumerate(devices):
        if name:
            out[row] = 1 + zlib.crc32(str(name).strip().lower().encode("utf-8")) % (buckets - 1)
    return out


def merge_repeats(
    offsets: np.ndarray, *columns: np.ndarray, counts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Merge each member's consecutive plays of one title into one token.

    ``offsets`` (U + 1,) CSR starts of members whose rows are in time order; ``columns`` are
    (N,) arrays, the first the title columns, the last the watch weights. A token keeps the
    title, the time and device of the run's last play (the freshest context), the run's
    total watch weight and its play count. Returns (new offsets, (N',) counts, the merged
    arrays in the order given).
    """
    items, weights = columns[0], columns[-1]
    n = len(items)
    counts = np.ones(n, np.float32) if counts is None else counts
    starts = np.zeros(n, bool)
    starts[offsets[:-1][offsets[:-1] < n]] = True  # a member's first play opens a token
    starts[1:] |= items[1:] != items[:-1]
    first = np.flatnonzero(starts)  # (N',) first row of each token
    last = np.concatenate([first[1:], [n]]) - 1 if n else first
    merged = [c[last] for c in columns[:-1]]
    total = np.add.reduceat(weights, first) if n else weights
    count = np.add.reduceat(counts, first) if n else counts
    new_offsets = np.searchsorted(first, offsets).astype(np.int64)
    return new_offsets, count.astype(np.float32), [*merged, total.astype(weights.dtype)]


def time_inputs(times: np.ndarray, next_times: np.ndarray) -> np.ndarray:
    """(..., 5) float32: the play's cyclic time and log hours until the next request."""
    return np.concatenate([cyclic_time(times), time_since(next_times, times)[..., None]], -1)


def query_inputs(request: np.ndarray, last: np.ndarray) -> np.ndarray:
    """(..., 5) float32: the request's cyclic time and log hours since the member's last play."""
    return np.concatenate([cyclic_time(request), time_since(request, last)[..., None]], -1)


def attention_mask(valid: torch.Tensor) -> torch.Tensor:
    """(B, 1, T, T) bool: causal, no attending to padding; a padded query sees itself only."""
    t = valid.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool, device=valid.device).tril()
    mask = causal[None] & valid[:, None, :]  # (B, T, T)
    return (mask | torch.eye(t, dtype=torch.bool, device=valid.device)[None])[:, None]


def repeat_inputs(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(..., 2) float32: log1p of each token's play count and of its total watch weight."""
    return np.stack([np.log1p(counts), np.log1p(weights)], -1).astype(np.float32)


@dataclass
class Plays:
    """One member's plays, oldest first, as the model reads them."""

    columns: np.ndarray
    """(n,) int64 title columns."""
    times: np.ndarray
    """(n,) float64 unix seconds."""
    devices: np.ndarray
    """(n,) int64 device buckets (0 unknown)."""
    weights: np.ndarray
    """(n,) float32 watch weights (1.0 when unknown)."""

    def __len__(self) -> int:
        return len(self.columns)

    def __getitem__(self, part: slice) -> Plays:
        return Plays(self.columns[part], self.times[part], self.devices[part], self.weights[part])


@dataclass
class Windows:
    """Training sequences: each member's tokens cut into windows of max_len + 1, left-padded."""

    items: torch.Tensor
    """(W, L + 1) int64 columns, -1 for padding."""
    weights: torch.Tensor
    """(W, L + 1) float32 watch weight of each token (0 for padding)."""
    counts: torch.Tensor
    """(W, L + 1) float32 plays merged into each token (1 unless ``merge_repeats``)."""
    devices: torch.Tensor
    """(W, L + 1) int64 device bucket of each token."""
    event_time: torch.Tensor
    """(W, L, 5) time inputs of the first L tokens."""
    query_time: torch.Tensor
    """(W, L, 5) request-time inputs for predicting tokens 2..L+1."""
    end_time: np.ndarray
    """(W,) float64 time of the window's last token."""

    def inputs(self, batch: torch.Tensor) -> Tokens:
        """Encoder inputs of the windows ``batch``: their first L tokens."""
        return Tokens(
            self.items[batch, :-1],
            self.event_time[batch],
            self.devices[batch, :-1],
            torch.from_numpy(
                repeat_inputs(self.counts[batch, :-1].numpy(), self.weights[batch, :-1].numpy())
            ),
        )


@dataclass
class Validation:
    """Held-out plays that choose when training stops: one request per member."""

    histories: list[Plays]
    """Per member, the plays before the held-out one."""
    targets: np.ndarray
    """(M,) int64 column of each held-out play."""
    times: np.ndarray
    """(M,) float64 time of each held-out play, the request time it is ranked at."""
    devices: np.ndarray
    """(M,) int64 device bucket of each held-out play, the request's device."""


def make_windows(
    offsets: np.ndarray,
    items: np.ndarray,
    times: np.ndarray,
    weights: np.ndarray,
    length: int,
    devices: np.ndarray | None = None,
    counts: np.ndarray | None = None,
) -> Windows:
    """Cut each member's time-ordered tokens (CSR ``offsets``) into windows, newest first."""
    devices = np.zeros(len(items), np.int64) if devices is None else devices
    counts = np.ones(len(items), np.float32) if counts is None else counts
    rows: list[tuple[int, int]] = []
    for user in range(len(offsets) - 1):
        start, stop = int(offsets[user]), int(offsets[user + 1])
        end = stop
        while end - start >= 2:
            rows.append((max(start, end - length - 1), end))
            end -= length
    w = len(rows)
    out_items = np.full((w, length + 1), -1, np.int64)
    out_weights = np.zeros((w, length + 1), np.float32)
    out_counts = np.zeros((w, length + 1), np.float32)
    out_devices = np.zeros((w, length + 1), np.int64)
    out_times = np.zeros((w, length + 1), np.float64)
    for r, (a, b) in enumerate(rows):
        n = b - a
        out_items[r, -n:] = items[a:b]
        out_weights[r, -n:] = weights[a:b]
        out_counts[r, -n:] = counts[a:b]
        out_devices[r, -n:] = devices[a:b]
        out_times[r, -n:] = times[a:b]
        out_times[r, :-n] = times[a]  # padding gets the first play's time: finite features
    event = time_inputs(out_times[:, :-1], out_times[:, 1:])  # (W, L, 5)
    query = query_inputs(out_times[:, 1:], out_times[:, :-1])  # (W, L, 5)
    return Windows(
        items=torch.from_numpy(out_items),
        weights=torch.from_numpy(out_weights),
        counts=torch.from_numpy(out_counts),
        devices=torch.from_numpy(out_devices),
        event_time=torch.from_numpy(event),
        query_time=torch.from_numpy(query),
        end_time=out_times[:, -1],
    )


class SASRecRecommender(Recommender):
    """Time-aware SASRec with a metadata item tower; scores from the member's play history."""

    kind = "sasrec"
    config_class = SASRecConfig
    uses_history = True

    def __init__(self, config: SASRecConfig | None = None) -> None:
        super().__init__(config)
        self.net: SASRecNet | None = None
        self.features: ItemFeatures | None = None
        self.trained_until = 0.0
        self._table_cache: tuple[float, torch.Tensor] | None = None
        self._play_devices = np.zeros(0, np.int64)  # (N,) device bucket, history order
        self._play_weights = np.zeros(0, np.float32)  # (N,) watch weight, history order

    # ---- fitting -------------------------------------------------------------------------

    def fit(
        self,
        interactions: Interactions,
        *,
        items: ItemMetadata | None = None,
        rng: np.random.Generator | None = None,
        warm_start: Recommender | None = None,
    ) -> Self:
        """Train on all plays, optionally from ``warm_start`` (a previous SASRec version).

        Randomness (initialisation, dropout, shuffling, negatives) comes from ``rng`` or
        ``config.seed`` only: construction and training run inside ``torch.random.fork_rng``
        seeded from it, so torch's global state is untouched and a rerun is identical.
        A ``warm_start`` of another kind or shape is ignored (training starts fresh).
        Without ``items`` the metadata tower is switched off (``config.use_metadata`` is
        saved as False): with no metadata it would only see each title's age.
        """
        cfg = replace(self.config, extra={})
        if items is None:  # without metadata the tower would see only ages: ID embeddings only
            cfg = replace(cfg, use_metadata=False)
        data = self._index(interactions, items)
        self._play_devices = device_codes(
            interactions.devices, cfg.device_buckets, len(interactions)
        )[self._history_order]
        self._play_weights = data.weights[self._history_order]
        if cfg.max_len == 0:
            cfg = replace(cfg, max_len=self._pick_max_len(warm_start, cfg.merge_repeats))
        self.config = cfg
        self.prior = recency_popularity(data, half_life_days=cfg.prior_half_life_days)
        self.trained_until = float(interactions.timestamps.max())
        self.features = self._item_features(items, data.items, interactions.timestamps)
        seed = cfg.seed if rng is None else int(rng.integers(2**63 - 1))
        previous = warm_start if self._can_warm_start(warm_start) else None
        device = resolve_torch_device(cfg.torch_device)
        with torch.random.fork_rng(devices=_cuda_indices(device)):
            torch.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)  # CPU: the same draws on any device
            net = SASRecNet(len(self.item_ids), cfg)  # initialised on the CPU, then moved
            if previous is not None:
                self._copy_from(net, previous)
            self.net = net = net.to(device)
            sampler = NegativeSampler.for_data(
                data.items,
                data.weights,
                len(self.item_ids),
                kind=cfg.negative_sampler,
                num_negatives=cfg.num_negatives,
            )
            if previous is not None:
                keep, validation = np.ones(len(self._history_items), bool), None
                epochs, min_steps = cfg.warm_start_epochs, cfg.min_steps // 3
            else:
                keep, validation = self._hold_out(np.random.default_rng(seed))
                epochs, min_steps = cfg.epochs, cfg.min_steps
            windows = self._windows(keep)
            loss = self._train(windows, sampler, epochs, min_steps, generator, validation)
            if validation is not None and cfg.refit:
                # as EASE refits with the lambda it chose: train again from the same start,
                # now on every play, for the number of epochs validation chose
                torch.manual_seed(seed)
                generator = torch.Generator().manual_seed(seed)
                net = SASRecNet(len(self.item_ids), cfg)
                self.net = net = net.to(device)
                windows = self._windows(np.ones(len(self._history_items), bool))
                loss = self._train(windows, sampler, cfg.extra["best_epoch"], 0, generator, None)
        self._set_unplayed_from_metadata(np.bincount(data.items, minlength=len(self.item_ids)))
        self.config.extra["final_loss"] = loss
        if previous is not None and cfg.align:
            self.config.extra.update(self._align_to(previous))
        net.eval()
        self._table_cache = None
        return self

    def _pick_max_len(self, warm_start: Recommender | None, merged: bool = False) -> int:
        """History length for ``max_len = 0``: the 90th percentile of the members' history
        lengths (in tokens when ``merged``) within ``AUTO_MAX_LEN`` (MovieLens-like logs get
        the 200 of the SASRec papers), or a warm start's own, to keep its weights."""
        if isinstance(warm_start, SASRecRecommender) and warm_start.net is not None:
            return warm_start.config.max_len
        offsets = self._history_offsets
        if merged:
            offsets = merge_repeats(offsets, self._history_items, self._play_weights)[0]
        lengths = np.diff(offsets)
        low, high = AUTO_MAX_LEN
        return int(np.clip(np.ceil(np.percentile(lengths, 90)), low, high))

    def _training_plays(self, start: int, stop: int) -> Plays:
        return Plays(
            self._history_items[start:stop],
            self._history_times[start:stop],
            self._play_devices[start:stop],
            self._play_weights[start:stop],
        )

    def _hold_out(self, rng: np.random.Generator) -> tuple[np.ndarray, Validation | None]:
        """(keep (N,) bool over history rows, the validation requests or None).

        The last play of up to ``validation_members`` members with 3+ plays (a seeded sample)
        is taken out of training: a request at that play's time, from the plays before it.
        With ``merge_repeats`` the whole last run of plays of one title is (a repeat of the
        title before is a seen title, which would score nothing), asked at its first play.
        Only the data ``fit`` was given are read: the caller's test split stays unseen.
        """
        cfg, offsets = self.config, self._history_offsets
        keep = np.ones(len(self._history_items), bool)
        eligible = np.flatnonzero(np.diff(offsets) >= 3)
        if cfg.validation_members == 0 or len(eligible) < MIN_VALIDATION_MEMBERS:
            return keep, None
        if len(eligible) > cfg.validation_members:
            eligible = np.sort(rng.choice(eligible, cfg.validation_members, replace=False))
        last = offsets[eligible + 1] - 1  # (M,) history row of each member's last play
        first = last.copy()  # (M,) first row held out: with merge_repeats, the whole last run
        if cfg.merge_repeats:
            items = self._history_items
            for j, m in enumerate(eligible):
                while first[j] - 1 > offsets[m] and items[first[j] - 1] == items[last[j]]:
                    first[j] -= 1
        for start, stop in zip(first, last, strict=True):
            keep[start : stop + 1] = False
        histories = [
            self._training_plays(offsets[m], row) for m, row in zip(eligible, first, strict=True)
        ]
        validation = Validation(
            histories=histories,
            targets=self._history_items[first],
            times=self._history_times[first],
            devices=self._play_devices[first],
        )
        return keep, validation

    def _windows(self, keep: np.ndarray) -> Windows:
        """Training windows from the history rows where ``keep`` is True (merged into tokens
        first with ``merge_repeats``)."""
        counts = np.add.reduceat(keep.astype(np.int64), self._history_offsets[:-1])  # (U,)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        arrays = [
            self._history_items[keep],
            self._history_times[keep],
            self._play_devices[keep],
            self._play_weights[keep],
        ]
        plays = None
        if self.config.merge_repeats:
            offsets, plays, arrays = merge_repeats(offsets, *arrays)
        items, times, devices, weights = arrays
        return make_windows(
            offsets, items, times, weights, self.config.max_len, devices=devices, counts=plays
        )

    def _item_features(
        self, items: ItemMetadata | None, played: np.ndarray, times: np.ndarray
    ) -> ItemFeatures:
        """Hashed metadata in column order; a missing added_at becomes the first play's time
        (or the end of training for a title never played: it is new)."""
        cfg = self.config
        meta = (items or ItemMetadata.from_records([])).aligned(self.item_ids)
        first = np.full(len(self.item_ids), self.trained_until)
        order = np.argsort(times)[::-1]  # newest first, so the oldest write wins
        first[played[order]] = times[order]
        added = np.where(np.isnan(meta.added_at), first, meta.added_at)
        meta = replace(meta, added_at=added.astype(np.float64))
        return ItemFeatures.from_metadata(
            meta,
            genre_buckets=cfg.genre_buckets,
            maturity_buckets=cfg.maturity_buckets,
            text_buckets=cfg.text_buckets,
        )

    def _train(
        self,
        windows: Windows,
        sampler: NegativeSampler,
        epochs: int,
        min_steps: int,
        generator: torch.Generator,
        validation: Validation | None,
    ) -> float:
        """AdamW on the weighted (sampled) softmax loss of every next play, plus the weighted
        auxiliary losses (see :meth:`_batch_losses`); returns the last step's total loss.

        Without ``validation``: ``epochs`` passes (more to reach ``min_steps``). With it: up to
        ``max_epochs`` passes, validation NDCG@10 after each, stopping ``patience`` epochs
        after the best (never before ``min_steps``) and restoring the best epoch's weights.
        ``config.extra`` records the epochs run, the best one and its validation NDCG@10.
        """
        cfg, net, features = self.config, self.net, self.features
        assert net is not None and features is not None
        n_items = len(self.item_ids)
        if len(windows.items) == 0:
            return math.nan
        sampled = n_items > cfg.full_softmax_max_items
        device = net.item_embedding.device
        log_q = sampler.log_q.to(device)
        optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        per_epoch = -(-len(windows.items) // cfg.batch_size)
        if validation is None:
            epochs = max(epochs, -(-min_steps // per_epoch))
        else:
            epochs = max(cfg.max_epochs, -(-min_steps // per_epoch))
        best, best_epoch, best_state = -math.inf, 0, None
        loss_value = math.nan
        for epoch in range(1, epochs + 1):
            net.train()
            order = torch.randperm(len(windows.items), generator=generator)
            for batch in order.split(cfg.batch_size):
                at = float(windows.end_time[batch.numpy()].max())
                id_mask = None
                if net.tower is not None and cfg.id_dropout > 0:
                    id_mask = (torch.rand(n_items, generator=generator) >= cfg.id_dropout).float()
                table = net.table(features, at, id_mask)  # (I, D)
                # drawn on the CPU from ``generator``, so every device sees the same negatives
                negatives = sampler.draw(generator).to(device) if sampled else None
                losses = self._batch_losses(windows, batch, table, negatives, log_q)
                loss = self._total_loss(losses)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_value = float(loss.detach())
            if validation is None:
                continue
            score = self._validate(validation)
            if score > best:
                best, best_epoch = score, epoch
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            elif epoch - best_epoch >= cfg.patience and epoch * per_epoch >= min_steps:
                break
        if validation is not None:
            net.load_state_dict(best_state)
            self.config.extra.update(
                {"epochs_run": epoch, "best_epoch": best_epoch, "validation_ndcg@10": best}
            )
        self._table_cache = None
        return loss_value

    def _total_loss(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """The training objective: next play + weighted multi-token, watch and genre terms."""
        cfg = self.config
        total = losses["next"]
        for name, value in losses.items():
            if name.startswith("mtp_"):
                total = total + cfg.mtp_weight * value
        if "watch" in losses:
            total = total + cfg.watch_weight * losses["watch"]
        if "genre" in losses:
            total = total + cfg.genre_weight * losses["genre"]
        return total

    def _batch_losses(
        self,
        windows: Windows,
        batch: torch.Tensor,
        table: torch.Tensor,
        negatives: torch.Tensor | None,
        log_q: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Each objective's loss on the windows ``batch``: "next" (the next token), "mtp_m"
        (the token m ahead, m = 2..mtp_k), "watch" (binary cross-entropy of the next token's
        watch fraction, its weight over its play count clipped to [0, 1]) and "genre"
        (cross-entropy of the next title's genre buckets, a title's genres sharing its mass),
        those that are on. The windows stay on the CPU; the batch moves to the net's device."""
        net = self.net
        assert net is not None and self.features is not None
        device = table.device
        seq = windows.items[batch].to(device)  # (B, L + 1)
        valid = seq >= 0
        mask = attention_mask(valid[:, :-1])
        x = net.embed(table, windows.inputs(batch).to(device))
        h = net.query(
            net.encode(x, mask),
            windows.query_time[batch].to(device),
            windows.devices[batch, 1:].to(device),
        )  # (B, L, D)
        w = windows.weights[batch].to(device)
        target = seq[:, 1:]  # (B, L)
        out = {"next": self._next_loss(h, table, target, w[:, 1:], negatives, log_q)}
        for m, head in enumerate(net.mtp, start=2):
            if seq.shape[1] > m:
                ahead = seq[:, m:]  # (B, L + 1 - m)
                hm = head(h[:, : ahead.shape[1]])
                out[f"mtp_{m}"] = self._next_loss(hm, table, ahead, w[:, m:], negatives, log_q)
        keep = target >= 0
        if net.watch_head is not None:
            counts = windows.counts[batch, 1:].to(device)
            fraction = (w[:, 1:] / counts.clamp(min=1))[keep].clamp(0, 1)
            pair = torch.cat([h[keep], table[target[keep]]], -1)  # (n, 2D)
            logit = net.watch_head(pair)[:, 0]
            out["watch"] = F.binary_cross_entropy_with_logits(logit, fraction)
        if net.genre_head is not None:
            genres = self._genre_targets().to(device)[target[keep]]  # (n, G)
            has = genres.sum(1) > 0
            if has.any():
                logits = net.genre_head(h[keep][has])  # (n, G)
                share = genres[has] / genres[has].sum(1, keepdim=True)  # a title's genres
                out["genre"] = -(share * F.log_softmax(logits, 1)).sum(1).mean()
        return out

    def _genre_targets(self) -> torch.Tensor:
        """(I, genre_buckets) float32 multi-hot genre buckets of every title."""
        assert self.features is not None
        f = self.features
        out = torch.zeros(len(f.genre_off) - 1, self.config.genre_buckets)
        rows = torch.repeat_interleave(torch.arange(len(f.genre_off) - 1), f.genre_off.diff())
        out[rows, f.genre_idx] = 1.0
        return out

    def objective_losses(
        self, interactions: Interactions | None = None, *, batch_size: int = 256
    ) -> dict[str, float]:
        """Mean loss of each objective (see :meth:`_batch_losses`), exact softmax, no dropout,
        on ``interactions`` (titles the model does not know are dropped) or on the training
        plays: what the heads learned, measurable on held-out data."""
        assert self.net is not None
        if interactions is None:
            windows = self._windows(np.ones(len(self._history_items), bool))
        else:
            windows = self._windows_of(interactions)
        self.net.eval()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        with torch.no_grad():
            for batch in torch.arange(len(windows.items)).split(batch_size):
                at = float(windows.end_time[batch.numpy()].max())
                table = self.net.table(self.features, at)  # type: ignore[arg-type]
                empty = torch.zeros(0)
                for name, value in self._batch_losses(windows, batch, table, None, empty).items():
                    sums[name] = sums.get(name, 0.0) + float(value) * len(batch)
                    counts[name] = counts.get(name, 0) + len(batch)
        return {name: sums[name] / counts[name] for name in sums}

    def _windows_of(self, interactions: Interactions) -> Windows:
        """Windows of other interactions, read the way ``fit`` reads its own."""
        columns = np.array([self._item_index.get(str(i), -1) for i in interactions.item_ids])
        known = np.flatnonzero(columns >= 0)
        _, user_rows = np.unique(interactions.user_ids[known].astype(str), return_inverse=True)
        order = known[np.lexsort((interactions.timestamps[known], user_rows))]
        offsets = np.concatenate([[0], np.cumsum(np.bincount(user_rows))]).astype(np.int64)
        devices = device_codes(
            None if interactions.devices is None else interactions.devices[order],
            self.config.device_buckets,
            len(order),
        )
        arrays = [
            columns[order].astype(np.int64),
            interactions.timestamps[order],
            devices,
            interactions.weights[order],
        ]
        plays = None
        if self.config.merge_repeats:
            offsets, plays, arrays = merge_repeats(offsets, *arrays)
        items, times, devs, weights = arrays
        return make_windows(
            offsets, items, times, weights, self.config.max_len, devices=devs, counts=plays
        )

    def _validate(self, validation: Validation, k: int = 10) -> float:
        """NDCG@k of the held-out plays, each ranked among all titles not in its history."""
        assert self.net is not None
        self.net.eval()
        self._table_cache = None  # the weights moved: the cached item table is stale
        gains = []
        for start in range(0, len(validation.targets), 256):
            part = slice(start, start + 256)
            histories = validation.histories[part]
            scores = self._score_plays(
                histories, at=validation.times[part], devices=validation.devices[part]
            )  # (b, I)
            for row, plays in enumerate(histories):
                scores[row, plays.columns] = -np.inf
            targets = validation.targets[part]
            target = scores[np.arange(len(targets)), targets]
            rank = (scores > target[:, None]).sum(1)  # (b,) 0-based, ties in its favour
            gains.append(np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0))
        self._table_cache = None
        return float(np.concatenate(gains).mean())

    @staticmethod
    def _next_loss(
        h: torch.Tensor,
        table: torch.Tensor,
        target: torch.Tensor,
        weight: torch.Tensor,
        negatives: torch.Tensor | None,
        log_q: torch.Tensor,
    ) -> torch.Tensor:
        """Weighted mean cross-entropy of ``target`` (B, T) (-1 = padding) given ``h``."""
        keep = target >= 0
        losses = softmax_loss(h[keep], table, target[keep], negatives=negatives, log_q=log_q)
        return weighted_mean(losses, weight[keep])

    # ---- warm start and alignment ---------------------------------------------------------

    def _can_warm_start(self, previous: Recommender | None) -> bool:
        if not isinstance(previous, SASRecRecommender) or previous.net is None:
            return False
        keys = ("dim", "blocks", "heads", "ffn_mult", "max_len", "mtp_k", "use_time")
        keys += ("use_metadata", "genre_buckets", "maturity_buckets", "text_buckets")
        keys += ("use_device", "device_buckets", "merge_repeats", "position_from")
        heads = ("watch_weight", "genre_weight")  # a head exists or not: same shapes
        return all(getattr(previous.config, k) == getattr(self.config, k) for k in keys) and all(
            (getattr(previous.config, k) > 0) == (getattr(self.config, k) > 0) for k in heads
        )

    def _copy_from(self, net: SASRecNet, previous: SASRecRecommender) -> None:
        """Start from ``previous``: shared weights as they are, ID rows matched by title id,
        and new titles' ID rows set to the previous tower's metadata embedding."""
        assert previous.net is not None and self.features is not None
        state = {k: v for k, v in previous.net.state_dict().items() if k != "item_embedding"}
        state["rotation"] = torch.eye(self.config.dim)
        state["item_embedding"] = net.item_embedding.detach().clone()
        net.load_state_dict(state)
        old = {item: col for col, item in enumerate(previous.item_ids)}
        pairs = [(col, old[i]) for col, i in enumerate(self.item_ids) if i in old]
        new_cols = torch.tensor([col for col, i in enumerate(self.item_ids) if i not in old])
        with torch.no_grad():
            if pairs:
                cols, old_cols = (torch.tensor(x) for x in zip(*pairs, strict=True))
                # raw rows: a version's rotation applies only to the vectors it exports
                net.item_embedding[cols] = previous.net.item_embedding.cpu()[old_cols]
            if len(new_cols) and net.tower is not None:
                meta = net.tower(self.features, self.features.numeric(self.trained_until))
                net.item_embedding[new_cols] = meta[new_cols]

    def _align_to(self, previous: SASRecRecommender) -> dict[str, float]:
        """Set ``net.rotation`` to the orthogonal R minimising ||V R - V_prev||_F over shared
        titles (Procrustes: R = U W^T from the SVD of V^T V_prev); returns the drift
        ||V - V_prev|| / ||V_prev|| before and after."""
        shared = [i for i in self.item_ids if i in set(previous.item_ids)]
        if len(shared) < 2:
            return {}
        at = self.trained_until
        new = self.item_vectors(at=at, rotate=False)[[self._item_index[i] for i in shared]]
        old = previous.item_vectors(at=at)[[previous._item_index[i] for i in shared]]
        rotation, before, after = procrustes(new, old)
        assert self.net is not None
        self.net.rotation.copy_(torch.from_numpy(rotation))
        self._table_cache = None
        return {"drift_before_align": before, "drift_after_align": after, "shared": len(shared)}

    def _set_unplayed_from_metadata(self, plays: np.ndarray) -> None:
        """Titles without a training play get their ID row from the metadata tower (their ID
        embedding only ever saw negative gradient)."""
        net = self.net
        if net is None or net.tower is None or self.features is None or plays.all():
            return
        cols = torch.from_numpy(np.flatnonzero(plays == 0)).to(net.item_embedding.device)
        net.eval()
        with torch.no_grad():
            meta = net.tower(self.features, self.features.numeric(self.trained_until))
            net.item_embedding[cols] = meta[cols]

    def item_vectors(self, *, at: float | None = None, rotate: bool = True) -> np.ndarray:
        """(I, D) float32 item vectors at ``at`` in the aligned space (comparable across
        versions after a warm start with ``align``)."""
        table = self._table(self.trained_until if at is None else at)
        if rotate:
            table = table @ self.net.rotation  # type: ignore[union-attr]
        return table.cpu().numpy()

    def member_vectors(self, histories: list[Plays | tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """(B, D) float32 hidden states of play histories (each non-empty: :class:`Plays`, or
        (columns, times) oldest first with devices unknown), right after the last play, in the
        aligned space: the vectors whose dot product with ``item_vectors`` at that time scores
        the next play (stored embeddings)."""
        assert self.net is not None
        plays = [
            h
            if isinstance(h, Plays)
            else Plays(
                np.asarray(h[0], np.int64),
                np.asarray(h[1], np.float64),
                np.zeros(len(h[0]), np.int64),
                np.ones(len(h[0]), np.float32),
            )
            for h in histories
        ]
        h, _ = self._hidden(plays, at=None, devices=np.zeros(len(plays), np.int64))
        return (h @ self.net.rotation).cpu().numpy()

    # ---- scoring -------------------------------------------------------------------------

    def _table(self, at: float) -> torch.Tensor:
        """Item vectors at ``at``, cached per hour (the age gate moves slowly)."""
        assert self.net is not None and self.features is not None
        hour = math.floor(at / 3600.0)
        if self._table_cache is None or self._table_cache[0] != hour:
            self.net.eval()
            with torch.inference_mode():
                # detached: without the tower the table is the ID parameter itself
                table = self.net.table(self.features, hour * 3600.0).detach()
                self._table_cache = (hour, table)
        return self._table_cache[1]

    def _sequence(self, *, row: int = -1, plays: History | None = None) -> Plays:
        """A member's :class:`Plays`: the request-time ``plays`` (``(item_id, t[, device[,
        weight]])``, unknown titles dropped, sorted by time) or the training plays of ``row``."""
        if plays is None:
            if row < 0 or row + 1 >= len(self._history_offsets):
                return self._training_plays(0, 0)
            start, stop = self._history_offsets[row], self._history_offsets[row + 1]
            if len(self._play_devices) != len(self._history_items):  # an older checkpoint
                return Plays(
                    self._history_items[start:stop],
                    self._history_times[start:stop],
                    np.zeros(stop - start, np.int64),
                    np.ones(stop - start, np.float32),
                )
            return self._training_plays(start, stop)
        rows = [p for p in plays if str(p[0]) in self._item_index]
        order = np.argsort(np.array([float(p[1]) for p in rows], np.float64), kind="stable")
        rows = [rows[i] for i in order]
        return Plays(
            np.array([self._item_index[str(p[0])] for p in rows], np.int64),
            np.array([float(p[1]) for p in rows], np.float64),
            device_codes(
                [p[2] if len(p) > 2 else None for p in rows], self.config.device_buckets, len(rows)
            ),
            np.array([float(p[3]) if len(p) > 3 else 1.0 for p in rows], np.float32),
        )

    def _sequence_length(self, sequence: Plays) -> int:
        return len(sequence)

    def _score_histories(
        self,
        histories: list[Plays],
        *,
        at: np.ndarray | None,
        devices: list[str | None] | None = None,
    ) -> np.ndarray:
        codes = device_codes(devices, self.config.device_buckets, len(histories))
        return self._score_plays(histories, at=at, devices=codes)

    def tokens(self, plays: Plays) -> tuple[Plays, np.ndarray]:
        """(the tokens the model reads from ``plays``, (n,) play count of each): with
        ``merge_repeats`` consecutive plays of a title are one token, else each play is."""
        if not self.config.merge_repeats:
            return plays, np.ones(len(plays), np.float32)
        offsets = np.array([0, len(plays)], np.int64)
        _, counts, arrays = merge_repeats(
            offsets, plays.columns, plays.times, plays.devices, plays.weights
        )
        return Plays(*arrays), counts

    def _score_plays(
        self, histories: list[Plays], *, at: np.ndarray | None, devices: np.ndarray
    ) -> np.ndarray:
        """(b, I) scores of each history's last ``max_len`` tokens, requested at ``at`` (b,)
        (None: right after the last play) from the device buckets ``devices`` (b,)."""
        h, table = self._hidden(histories, at=at, devices=devices)
        return (h @ table.T).cpu().numpy()  # (B, I); the rotation cancels in h R (V R)^T

    def _hidden(
        self, histories: list[Plays], *, at: np.ndarray | None, devices: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """((b, D) the request's hidden state, (I, D) the item table at the request): what
        scoring multiplies, from each history's last ``max_len`` tokens (see _score_plays)."""
        assert self.net is not None
        merged = [self.tokens(plays) for plays in histories]
        length = min(self.config.max_len, max(len(p) for p, _ in merged))
        b = len(histories)
        items = np.full((b, length), -1, np.int64)
        times = np.zeros((b, length), np.float64)
        devs = np.zeros((b, length), np.int64)
        weights = np.zeros((b, length), np.float32)
        counts = np.zeros((b, length), np.float32)
        for row, (plays, count) in enumerate(merged):
            n = min(length, len(plays))
            items[row, -n:], times[row, -n:] = plays.columns[-n:], plays.times[-n:]
            devs[row, -n:], weights[row, -n:] = plays.devices[-n:], plays.weights[-n:]
            counts[row, -n:] = count[-n:]
            times[row, :-n] = plays.times[-n]
        last = times[:, -1]
        request = last if at is None else at  # (B,) unknown: right after the last play
        next_times = np.concatenate([times[:, 1:], request[:, None]], 1)
        table = self._table(float(request.max()))
        device = table.device  # the net's: built on the CPU, run there
        tokens = Tokens(
            torch.from_numpy(items),
            torch.from_numpy(time_inputs(times, next_times)),  # (B, T, 5)
            torch.from_numpy(devs),
            torch.from_numpy(repeat_inputs(counts, weights)),
        ).to(device)
        query = torch.from_numpy(query_inputs(request, last)).to(device)  # (B, 5)
        codes = torch.from_numpy(np.asarray(devices, np.int64)).to(device)
        valid = items >= 0
        mask = None if valid.all() else attention_mask(torch.from_numpy(valid).to(device))
        with torch.inference_mode():
            h = self.net.encode(self.net.embed(table, tokens), mask)[:, -1]  # (B, D)
            h = self.net.query(h, query, codes)
        return h, table

    # ---- catalogue growth and checkpoints -------------------------------------------------

    def _extend_items(self, new: ItemMetadata) -> None:
        """Embed new titles from metadata (ID row = tower output); without the tower they get
        the mean ID embedding. A missing added_at counts as "added at the end of training"."""
        assert self.net is not None and self.features is not None
        added = np.where(np.isnan(new.added_at), self.trained_until, new.added_at)
        feats = ItemFeatures.from_metadata(
            replace(new, added_at=added.astype(np.float64)),
            genre_buckets=self.config.genre_buckets,
            maturity_buckets=self.config.maturity_buckets,
            text_buckets=self.config.text_buckets,
        )
        self.features = self.features.concat(feats)
        net = self.net
        with torch.no_grad():
            if net.tower is not None:
                rows = net.tower(feats, feats.numeric(self.trained_until))
            else:
                rows = net.item_embedding.mean(0, keepdim=True).expand(len(new), -1)
            net.item_embedding = nn.Parameter(torch.cat([net.item_embedding, rows]))
        self._table_cache = None

    @classmethod
    def _from_checkpoint(cls, checkpoint: dict[str, Any], directory: Path) -> Self:
        """A checkpoint loads on the CPU whatever ``torch_device`` it was trained with (a
        model trained on a GPU serves on a machine without one), so the loaded config says
        "cpu"."""
        config = checkpoint.get("config")
        if isinstance(config, dict) and "torch_device" in config:
            checkpoint = {**checkpoint, "config": {**config, "torch_device": "cpu"}}
        return super()._from_checkpoint(checkpoint, directory)

    def _state_dict(self) -> dict[str, torch.Tensor]:
        assert self.net is not None and self.features is not None
        # CPU tensors whatever the device it trained on: the platform loads and serves on CPU
        state = {f"net.{k}": v.detach().cpu().clone() for k, v in self.net.state_dict().items()}
        state.update(self.features.state())
        state["play_devices"] = torch.from_numpy(self._play_devices.copy())
        state["play_weights"] = torch.from_numpy(self._play_weights.copy())
        state["trained_until"] = torch.tensor(self.trained_until, dtype=torch.float64)
        return state

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        state = dict(state)
        self.trained_until = float(state.pop("trained_until"))
        # per-play device and weight of the training plays (checkpoints before them: none)
        devices, weights = state.pop("play_devices", None), state.pop("play_weights", None)
        if devices is not None and weights is not None:
            self._play_devices = devices.numpy().astype(np.int64)
            self._play_weights = weights.numpy().astype(np.float32)
        self.features = ItemFeatures.from_state(state)
        if len(self.features) != len(self.item_ids):
            raise ValueError(f"item features cover {len(self.features)} titles, not all")
        with torch.random.fork_rng(devices=[]):  # the initial values are overwritten anyway
            net = SASRecNet(len(self.item_ids), self.config)
        net.load_state_dict({k.removeprefix("net."): v for k, v in state.items()})
        net.eval()
        self.net = net
        self._table_cache = None


def _cuda_indices(device: torch.device) -> list[int]:
    """The CUDA devices whose random state ``fork_rng`` keeps (dropout on a GPU draws from
    the GPU's generator; none on the CPU)."""
    if device.type != "cuda":
        return []
    return [torch.cuda.current_device() if device.index is None else device.index]


def procrustes(new: np.ndarray, old: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Orthogonal Procrustes: the rotation R minimising ||new R - old||_F, for (n, D) vectors
    of the same n titles in two versions (R = U W^T from the SVD of new^T old; Schoenemann
    1966). Returns (R (D, D) float32, drift before, drift after), drift being
    ||new - old|| / ||old||, the part of the change between versions that is only a rotation
    of the space, which alignment removes, shows as before - after."""
    u, _, wt = np.linalg.svd(new.T.astype(np.float64) @ old.astype(np.float64))
    rotation = (u @ wt).astype(np.float32)  # (D, D) orthogonal
    norm = float(np.linalg.norm(old))
    before = float(np.linalg.norm(new - old)) / norm
    after = float(np.linalg.norm(new @ rotation - old)) / norm
    return rotation, before, after
