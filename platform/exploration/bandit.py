"""The platform's one bridge to the bandit library (recommender.bandits).

Everything the explorer needs from recommender/ passes here: building a policy from an
`ExplorerConfig` (the library checks names and parameters), a policy's state to and from
the bytes a `BanditState` row stores (a numpy .npz archive of its `state_dict`), and the
context and action-feature vectors of each use (the library's own context functions, over
the same time and title features the models use).
"""

import io
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings

from recommender.bandits import (
    BanditConfigError,
    Candidates,
    Choice,
    Feedback,
    Policy,
    make_policy,
)
from recommender.bandits import contexts as bandit_contexts

__all__ = [
    "Candidates",
    "Choice",
    "ExplorerConfigError",
    "Feedback",
    "Policy",
    "artwork_candidates",
    "artwork_context",
    "config_check",
    "page_context",
    "policy_build",
    "row_candidates",
    "slot_candidates",
    "state_dump",
    "state_load",
]


class ExplorerConfigError(ValueError):
    """A configuration the explorer cannot serve; `field` names the field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class UseShape:
    """What one use's decisions look like: how many candidates at most, context width,
    action-feature width."""

    max_candidates: int
    context_dim: int
    feature_dim: int


def use_shape(use: str) -> UseShape:
    from .rowkinds import ROW_KINDS

    if use == "slots":
        return UseShape(
            settings.EXPLORATION_CANDIDATES,
            bandit_contexts.PAGE_CONTEXT_DIM,
            bandit_contexts.TITLE_FEATURE_DIM,
        )
    if use == "row_order":
        return UseShape(len(ROW_KINDS), bandit_contexts.PAGE_CONTEXT_DIM, len(ROW_KINDS))
    if use == "artwork":
        n = settings.EXPLORATION_ARTWORK_VARIANTS
        return UseShape(n, bandit_contexts.ARTWORK_CONTEXT_DIM, n)
    raise ExplorerConfigError("use", f"Unknown use {use!r}; one of slots, row_order, artwork.")


def policy_build(*, use: str, policy: str, rate: float, floor: float, params: dict) -> Policy:
    """The policy a config describes. Raises ExplorerConfigError naming the bad field."""
    shape = use_shape(use)
    if not 0.0 <= rate <= 1.0:
        raise ExplorerConfigError("rate", f"Exploration rate {rate} is outside [0, 1].")
    if floor < 0.0 or floor * shape.max_candidates > 1.0:
        raise ExplorerConfigError(
            "floor",
            f"Floor {floor} x {shape.max_candidates} candidates of a {use} decision is "
            f"{floor * shape.max_candidates:g} > 1: the probabilities could not sum to 1. "
            f"Use a floor of at most {1.0 / shape.max_candidates:.4g}.",
        )
    try:
        return make_policy(
            policy,
            rate=rate,
            floor=floor,
            context_dim=shape.context_dim,
            feature_dim=shape.feature_dim,
            **params,
        )
    except BanditConfigError as exc:
        field = "policy" if "policy" in str(exc).lower() and "unknown" in str(exc).lower() else (
            "params"
        )
        raise ExplorerConfigError(field, str(exc)) from exc
    except TypeError as exc:  # a parameter the policy does not take
        raise ExplorerConfigError("params", f"{policy}: {exc}") from exc


def config_check(config) -> Policy:
    """Build the policy of an ExplorerConfig, or raise ExplorerConfigError."""
    return policy_build(
        use=config.use,
        policy=config.policy,
        rate=config.rate,
        floor=config.floor,
        params=config.params or {},
    )


def state_dump(policy: Policy) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **policy.state_dict())
    return buffer.getvalue()


def state_load(policy: Policy, blob: bytes) -> None:
    with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as arrays:
        policy.load_state_dict({name: arrays[name] for name in arrays.files})


def page_context(*, at: datetime, n_plays: int) -> np.ndarray:
    """(PAGE_CONTEXT_DIM,) the page's context: time of day and week, the member's history."""
    return bandit_contexts.page_context(t=at.timestamp(), n_plays=n_plays)


def slot_candidates(
    *, at: datetime, ids: list[int], scores: list[float], added_at: list[float], years: list[int]
) -> Candidates:
    """Titles eligible for an exploration slot, with the model's score and title features."""
    features = bandit_contexts.title_features(
        t=at.timestamp(), scores=scores, added_at=added_at, years=years
    )
    return Candidates(ids=np.asarray(ids), features=features, scores=np.asarray(scores))


def row_candidates(*, kind_ids: list[int], prior: list[float], n_kinds: int) -> Candidates:
    """Row kinds eligible on this page; features one-hot over every kind, scores the prior
    (the builders' registry order, so a greedy row policy starts from the usual page)."""
    features = np.eye(n_kinds)[kind_ids]
    return Candidates(ids=np.asarray(kind_ids), features=features, scores=np.asarray(prior))


def artwork_candidates(n_variants: int) -> Candidates:
    """Artwork variants 0..n-1, one-hot by style."""
    return Candidates(
        ids=np.arange(n_variants), features=np.eye(n_variants), scores=np.zeros(n_variants)
    )


def artwork_context(*, page: np.ndarray, genre_share: float, score: float | None) -> np.ndarray:
    """(ARTWORK_CONTEXT_DIM,) one title for one member: the page context, how much of the
    member's history is in the title's genres, and the model's score."""
    return bandit_contexts.artwork_context(page=page, genre_share=genre_share, score=score)
