"""Torch's runtime settings for callers that do not import torch themselves (the simulator's
experiments may use the recommender but not torch directly: tests/simulator/test_imports.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block on ``n`` torch threads, then restore the previous count. Small models on a
    shared machine train many times faster on one thread than on two that compete for a core."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def cuda_available() -> bool:
    return torch.cuda.is_available()
