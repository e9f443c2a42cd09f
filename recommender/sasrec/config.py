"""SASRec's settings (:class:`SASRecConfig`) and where torch runs it (``torch_device``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from recommender.losses import Sampler, SoftmaxTrainingConfig

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


def _cuda_indices(device: torch.device) -> list[int]:
    """The CUDA devices whose random state ``fork_rng`` keeps (dropout on a GPU draws from
    the GPU's generator; none on the CPU)."""
    if device.type != "cuda":
        return []
    return [torch.cuda.current_device() if device.index is None else device.index]
