"""The metadata item tower: embed a title from what is known before anyone watches it.

An ID embedding is only as good as the plays behind it; a title added today has none. The
tower embeds genres, maturity rating, synopsis tokens, release age and days in catalogue
into the same space as the ID embeddings, and a learned gate that depends on how long the
title has been in the catalogue blends the two: ``v = g(age) * id + (1 - g(age)) * meta``.
New titles lean on metadata, established ones on what members did with them. (The idea of
feature-based item towers for cold start: Covington et al. 2016; Yi et al. 2019; the
"heterogeneous features" lesson of Steck et al. 2021.)

Categorical values and synopsis words are hashed into fixed buckets (``zlib.crc32``, stable
across processes), so a checkpoint needs no vocabulary and a new title's unseen genre or
word still maps somewhere.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recommender.features import days_in_catalog, release_age
from recommender.metadata import ItemMetadata

TOKEN = re.compile(r"[a-z0-9]+")
N_NUMERIC = 4
"""Numeric tower inputs: release age, year unknown, days in catalogue, added_at unknown."""


def _bucket(token: str, buckets: int) -> int:
    return zlib.crc32(token.encode("utf-8")) % buckets


def _bags(tokens: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat (T,) int64 token ids and (M + 1,) offsets of per-title token lists."""
    lengths = [len(t) for t in tokens]
    flat = [x for t in tokens for x in t]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return torch.tensor(flat, dtype=torch.int64), torch.from_numpy(offsets)


@dataclass
class ItemFeatures:
    """Hashed metadata of every title in model column order, as tensors a checkpoint holds."""

    genre_idx: torch.Tensor
    """(Tg,) int64 genre buckets, all titles concatenated."""
    genre_off: torch.Tensor
    """(I + 1,) int64 start of each title's genres in ``genre_idx``."""
    maturity_idx: torch.Tensor
    """(Tm,) int64 maturity bucket (none for an unknown rating)."""
    maturity_off: torch.Tensor
    """(I + 1,) int64."""
    text_idx: torch.Tensor
    """(Tt,) int64 synopsis word buckets (each distinct word once)."""
    text_off: torch.Tensor
    """(I + 1,) int64."""
    year: torch.Tensor
    """(I,) float64 release year, nan when unknown."""
    added_at: torch.Tensor
    """(I,) float64 unix seconds the title entered the catalogue (filled in by the model)."""

    KEYS = ("genre_idx", "genre_off", "maturity_idx", "maturity_off", "text_idx", "text_off")

    @classmethod
    def from_metadata(
        cls, meta: ItemMetadata, *, genre_buckets: int, maturity_buckets: int, text_buckets: int
    ) -> ItemFeatures:
        genres = [[_bucket(g, genre_buckets) for g in gs] for gs in meta.genres]
        maturity = [[_bucket(m.lower(), maturity_buckets)] if m else [] for m in meta.maturity]
        text = [
            sorted({_bucket(w, text_buckets) for w in TOKEN.findall(t.lower())}) for t in meta.text
        ]
        (g_idx, g_off), (m_idx, m_off), (t_idx, t_off) = _bags(genres), _bags(maturity), _bags(text)
        return cls(
            g_idx,
            g_off,
            m_idx,
            m_off,
            t_idx,
            t_off,
            torch.from_numpy(meta.year.copy()),
            torch.from_numpy(meta.added_at.copy()),
        )

    def __len__(self) -> int:
        return len(self.year)

    def concat(self, other: ItemFeatures) -> ItemFeatures:
        """These titles followed by ``other``'s."""
        parts = {}
        for name in ("genre", "maturity", "text"):
            idx, off = getattr(self, f"{name}_idx"), getattr(self, f"{name}_off")
            o_idx, o_off = getattr(other, f"{name}_idx"), getattr(other, f"{name}_off")
            parts[f"{name}_idx"] = torch.cat([idx, o_idx])
            parts[f"{name}_off"] = torch.cat([off, o_off[1:] + off[-1]])
        return ItemFeatures(
            **parts,
            year=torch.cat([self.year, other.year]),
            added_at=torch.cat([self.added_at, other.added_at]),
        )

    def state(self) -> dict[str, torch.Tensor]:
        return {
            f"item_{name}": getattr(self, name).clone() for name in (*self.KEYS, "year", "added_at")
        }

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> ItemFeatures:
        names = (*cls.KEYS, "year", "added_at")
        return cls(**{name: state.pop(f"item_{name}") for name in names})

    def numeric(self, at: float) -> torch.Tensor:
        """(I, 4) float32 tower inputs at time ``at``, scaled to roughly [0, 1]."""
        age = release_age(at, self.year.numpy())  # (I,) years, nan if unknown
        days = days_in_catalog(at, self.added_at.numpy())  # (I,) nan if unknown
        columns = [
            np.log1p(np.clip(np.nan_to_num(age, nan=0.0), 0, None)) / 4.0,
            np.isnan(age).astype(np.float32),
            np.log1p(np.nan_to_num(days, nan=0.0)) / 6.0,
            np.isnan(days).astype(np.float32),
        ]
        return torch.from_numpy(np.stack(columns, 1).astype(np.float32))

    def catalog_days(self, at: float) -> torch.Tensor:
        """(I,) float32 days in catalogue at ``at`` (unknown counts as long established)."""
        days = days_in_catalog(at, self.added_at.numpy())
        return torch.from_numpy(np.nan_to_num(days, nan=365.0))


class ItemTower(nn.Module):
    """Metadata -> (I, D) embedding, plus the age gate that blends it with ID embeddings."""

    def __init__(
        self, dim: int, *, genre_buckets: int, maturity_buckets: int, text_buckets: int
    ) -> None:
        super().__init__()
        self.genre = nn.Parameter(torch.randn(genre_buckets, dim) * 0.1)
        self.maturity = nn.Parameter(torch.randn(maturity_buckets, dim) * 0.1)
        self.text = nn.Parameter(torch.randn(text_buckets, dim) * 0.1)
        self.numeric = nn.Linear(N_NUMERIC, dim)
        self.mix = nn.Sequential(nn.GELU(), nn.Linear(dim, dim))
        # g(age) = sigmoid(slope * log1p(days) + offset): starts at 0.27 on day 0, 0.9 at 3 weeks
        self.gate_slope = nn.Parameter(torch.tensor(1.0))
        self.gate_offset = nn.Parameter(torch.tensor(-1.0))

    def forward(self, features: ItemFeatures, numeric: torch.Tensor) -> torch.Tensor:
        """(I, D) metadata embeddings of every title in ``features``. The features (kept on
        the CPU, where checkpoints hold them) are moved to the tower's device."""
        bags = (
            (self.genre, features.genre_idx, features.genre_off),
            (self.maturity, features.maturity_idx, features.maturity_off),
            (self.text, features.text_idx, features.text_off),
        )
        device = self.genre.device
        total = self.numeric(numeric.to(device))  # (I, D)
        for weight, idx, off in bags:  # an empty bag contributes zeros
            total = total + F.embedding_bag(
                idx.to(device), weight, off.to(device), mode="mean", include_last_offset=True
            )
        return total + self.mix(total)

    def gate(self, days: torch.Tensor) -> torch.Tensor:
        """(I, 1) weight of the ID embedding for titles ``days`` (I,) old."""
        return torch.sigmoid(self.gate_slope * torch.log1p(days) + self.gate_offset)[:, None]
