"""What SASRec reads: a member's plays (:class:`Plays`), the encoder's inputs
(:class:`Tokens`), training windows and held-out requests, and the functions that build them
(hashed devices, merged repeats, time inputs)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch

from recommender.features import cyclic_time, time_since


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
