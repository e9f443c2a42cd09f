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

from recommender.sasrec.config import (
    AUTO_MAX_LEN,
    MIN_VALIDATION_MEMBERS,
    TORCH_DEVICE,
    SASRecConfig,
    resolve_torch_device,
)
from recommender.sasrec.net import N_REPEAT, N_TIME, Block, SASRecNet, attention_mask
from recommender.sasrec.recommender import SASRecRecommender, procrustes
from recommender.sasrec.tokens import (
    Plays,
    Tokens,
    Validation,
    Windows,
    device_codes,
    make_windows,
    merge_repeats,
    query_inputs,
    repeat_inputs,
    time_inputs,
)

__all__ = [
    "AUTO_MAX_LEN",
    "MIN_VALIDATION_MEMBERS",
    "N_REPEAT",
    "N_TIME",
    "TORCH_DEVICE",
    "Block",
    "Plays",
    "SASRecConfig",
    "SASRecNet",
    "SASRecRecommender",
    "Tokens",
    "Validation",
    "Windows",
    "attention_mask",
    "device_codes",
    "make_windows",
    "merge_repeats",
    "procrustes",
    "query_inputs",
    "repeat_inputs",
    "resolve_torch_device",
    "time_inputs",
]
