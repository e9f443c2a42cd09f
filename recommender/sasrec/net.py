"""SASRec's network: pre-LayerNorm causal blocks, the item table (ID embeddings blended with
the metadata tower), and the optional inputs and heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from recommender.features import N_CYCLIC
from recommender.item_tower import ItemFeatures, ItemTower
from recommender.sasrec.config import SASRecConfig
from recommender.sasrec.tokens import Tokens

N_TIME = N_CYCLIC + 1
"""Per-position time inputs: cyclic time (4) and log hours to the next request (1)."""


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


def attention_mask(valid: torch.Tensor) -> torch.Tensor:
    """(B, 1, T, T) bool: causal, no attending to padding; a padded query sees itself only."""
    t = valid.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool, device=valid.device).tril()
    mask = causal[None] & valid[:, None, :]  # (B, T, T)
    return (mask | torch.eye(t, dtype=torch.bool, device=valid.device)[None])[:, None]
