"""The platform's one bridge to the bandit library (recommender.bandits).

Everything the explorer needs from recommender/ passes here: building a policy from an
`ExplorerConfig` (the library checks names and parameters), a policy's state to and from
the bytes a `BanditState` row stores (a numpy .npz archive of its `state_dict`), and the
context and action-feature vectors of each use (the library's own context functions, over
the same time and title features the models use).
"""

import functools
import io
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat

import numpy as np
from django.conf import settings

from recommender.bandits import (
    BanditConfigError,
    Candidates,
    Choice,
    Feedback,
    Policy,
    SharedNormals,
    Thompson,
    make_policy,
    policy_params,
)
from recommender.bandits import contexts as bandit_contexts

PAGE_CONTEXT_DIM = bandit_contexts.MEMBER_BASE + bandit_contexts.TASTE
TITLE_FEATURE_DIM = bandit_contexts.TITLE_FEATURES
RATE_PARAM = "epsilon"
"""The policy parameter ExplorerConfig.rate sets, for the policies that declare it."""
DIM_PARAMS = {"context_dim": "context", "dim": "context", "feature_dim": "feature"}
"""Shape parameters a policy may declare; the bridge fills them from the use's shape."""

__all__ = [
    "Candidates",
    "Choice",
    "ExplorerConfigError",
    "Feedback",
    "Policy",
    "SharedNormals",
    "artwork_candidates",
    "artwork_action",
    "choose",
    "choose_each",
    "config_check",
    "genre_profile",
    "one_hot",
    "page_context",
    "policy_build",
    "row_candidates",
    "slot_candidates",
    "state_dump",
    "state_load",
    "title_own_features",
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
        return UseShape(settings.EXPLORATION_CANDIDATES, PAGE_CONTEXT_DIM, TITLE_FEATURE_DIM)
    if use == "row_order":
        return UseShape(len(ROW_KINDS), PAGE_CONTEXT_DIM, len(ROW_KINDS))
    if use == "artwork":
        n = settings.EXPLORATION_ARTWORK_VARIANTS
        return UseShape(n, PAGE_CONTEXT_DIM, n)
    raise ExplorerConfigError("use", f"Unknown use {use!r}; one of slots, row_order, artwork.")


def policy_build(*, use: str, policy: str, rate: float, floor: float, params: dict) -> Policy:
    """The policy a config describes. Raises ExplorerConfigError naming the bad field.

    `rate` sets the policy's epsilon where it has one (epsilon-greedy); a policy whose
    exploration is another parameter (softmax's temperature, LinUCB's alpha) takes it in
    `params`. The floor is checked against the most candidates a decision of the use can
    have (the library can only check the candidates of each choice)."""
    shape = use_shape(use)
    if not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
        raise ExplorerConfigError("rate", f"Exploration rate {rate} is outside [0, 1].")
    if not isinstance(floor, int | float) or not (
        0.0 <= floor and floor * shape.max_candidates <= 1.0
    ):
        raise ExplorerConfigError(
            "floor",
            f"Floor {floor} x {shape.max_candidates} candidates of a {use} decision is "
            f"{floor * shape.max_candidates:g} > 1: the probabilities could not sum to 1. "
            f"Use a floor of at most {1.0 / shape.max_candidates:.4g}.",
        )
    try:
        declared = {p["name"] for p in policy_params(policy)}
    except BanditConfigError as exc:
        raise ExplorerConfigError("policy", str(exc)) from exc
    taken = sorted(set(params) & {RATE_PARAM, "floor"})
    if taken:
        raise ExplorerConfigError(
            "params", f"Set {', '.join(taken)} with the config's own rate and floor fields."
        )
    given = {**params, "floor": floor}
    if RATE_PARAM in declared:
        given[RATE_PARAM] = rate
    for name, which in DIM_PARAMS.items():
        if name in declared and name not in params:
            given[name] = shape.context_dim if which == "context" else shape.feature_dim
    try:
        return make_policy(policy, **given)
    except BanditConfigError as exc:
        raise ExplorerConfigError("params", str(exc)) from exc


def config_check(config) -> Policy:
    """Build the policy of an ExplorerConfig, or raise ExplorerConfigError."""
    return policy_build(
        use=config.use,
        policy=config.policy,
        rate=config.rate,
        floor=config.floor,
        params=config.params or {},
    )


def choose(
    policy: Policy,
    context: np.ndarray,
    candidates: Candidates,
    k: int,
    rng: np.random.Generator,
    normals: SharedNormals,
) -> Choice:
    """``policy.choose``; Thompson sampling takes its Monte Carlo noise from the page's
    shared block (recommender.bandits.thompson: every estimate still averages its own
    ``draws`` independent posterior draws; the page draws the normals once, not per
    decision)."""
    if isinstance(policy, Thompson):
        return policy.choose(context, candidates, k, rng, normals=normals)
    return policy.choose(context, candidates, k, rng)


def choose_each(
    policy: Policy,
    context: np.ndarray,
    candidates: Candidates,
    group_size: int,
    rng: np.random.Generator,
    normals: SharedNormals,
) -> Choice:
    """``policy.choose_each``, with the page's shared normals for Thompson (`choose`)."""
    if isinstance(policy, Thompson):
        return policy.choose_each(context, candidates, group_size, rng, normals=normals)
    return policy.choose_each(context, candidates, group_size, rng)


def state_dump(policy: Policy) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **policy.state_dict())
    return buffer.getvalue()


def state_load(policy: Policy, blob: bytes) -> None:
    with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as arrays:
        policy.load_state_dict({name: arrays[name] for name in arrays.files})


GENRE_SLOTS = 64
"""Width of the member's genre profile before the library projects it (genre id mod 64)."""

_genre_table: tuple[object, dict[int, int], np.ndarray, np.ndarray] | None = None


def _genre_slots(
    genre_ids: dict[int, frozenset[int]],
) -> tuple[dict[int, int], np.ndarray, np.ndarray]:
    """Every title's genre slots as a table, kept for the catalogue snapshot's dict it was
    computed from (one dict per snapshot, never changed): each title's row, the (titles + 1,
    slots used) float64 count of each title's genres in each used slot (the last row all
    zero: a title without an entry), and the slots used (some twenty of GENRE_SLOTS)."""
    global _genre_table
    kept = _genre_table
    if kept is not None and kept[0] is genre_ids:
        return kept[1:]
    used = sorted({genre % GENRE_SLOTS for genres in genre_ids.values() for genre in genres})
    column = {slot: i for i, slot in enumerate(used)}
    counts = np.zeros((len(genre_ids) + 1, len(used)))
    for row, genres in enumerate(genre_ids.values()):
        for genre in genres:
            counts[row, column[genre % GENRE_SLOTS]] += 1.0
    counts.flags.writeable = False
    rows = dict(zip(genre_ids, range(len(genre_ids)), strict=True))
    _genre_table = (genre_ids, rows, counts, np.asarray(used, np.int64))
    return _genre_table[1:]


def genre_profile(
    *, title_ids: list[int], genre_ids: dict[int, frozenset[int]]
) -> np.ndarray | None:
    """(GENRE_SLOTS,) the member's plays by genre (`title_ids`: the titles of their plays,
    one entry a play), as the "embedding" the library projects into the taste entries of
    its member context; None for a member with no plays of a title with a genre.

    Read from the snapshot's table (`_genre_slots`): one gather and one sum of the plays'
    rows. The counts are small integers, exact in float64 in any order of summation, so the
    profile is the one a count of every play's genres gives (and None exactly when that
    count is empty)."""
    if not title_ids:
        return None
    rows, counts, used = _genre_slots(genre_ids)
    at = np.fromiter(map(rows.get, title_ids, repeat(len(rows))), np.intp, len(title_ids))
    total = np.add.reduce(counts[at], axis=0)
    if not total.any():
        return None
    profile = np.zeros(GENRE_SLOTS)
    profile[used] = total
    return profile


def page_context(*, at: datetime, profile: np.ndarray | None) -> np.ndarray:
    """(PAGE_CONTEXT_DIM,) the page's context, the same for every decision on it: the
    library's member context (recommender.bandits.contexts.member_context: bias, the models'
    cyclic time features, and the member's taste: here their genre profile (`genre_profile`),
    projected)."""
    return bandit_contexts.member_context(at.timestamp(), profile)


def title_own_features(*, at: datetime, added_at: np.ndarray, years: np.ndarray) -> np.ndarray:
    """(n, TITLE_FEATURE_DIM) the library's title features but the score entry
    (contexts.title_own_features: bias, new arrival, days in catalogue, release age): they
    depend on the title alone, so the page builds them for both its slot pools in one go."""
    return bandit_contexts.title_own_features(at.timestamp(), added_at=added_at, year=years)


def slot_candidates(*, ids: np.ndarray, scores: np.ndarray, features: np.ndarray) -> Candidates:
    """Titles eligible for an exploration slot, with the library's title features
    (contexts.title_features: bias, standardized score, new arrival, days in catalogue,
    release age), so a shared linear policy can choose a title it never showed. `features`:
    the titles' rows of `title_own_features`, whose score entry is set here, in place, to
    `scores` standardized over these candidates."""
    features = bandit_contexts.title_score_feature(features, scores)
    return Candidates(ids=np.asarray(ids), features=features, scores=np.asarray(scores))


def row_candidates(*, kind_ids: list[int], prior: list[float], n_kinds: int) -> Candidates:
    """Row kinds eligible on this page; features one-hot over every kind, scores the prior
    (the builders' registry order, so a greedy row policy starts from the usual page)."""
    return _row_candidates(tuple(kind_ids), tuple(prior), n_kinds)


@functools.lru_cache(maxsize=256)
def _row_candidates(kind_ids: tuple[int, ...], prior: tuple[float, ...], n_kinds: int):
    """`row_candidates`, built once per set of eligible kinds (pages mostly share a few):
    read-only arrays, shared by the pages."""
    candidates = Candidates(
        ids=np.asarray(kind_ids),
        features=bandit_contexts.one_hot(kind_ids, n_kinds),
        scores=np.asarray(prior, np.float64),
    )
    for array in (candidates.ids, candidates.features, candidates.scores):
        array.flags.writeable = False
    return candidates


def artwork_candidates(title_ids: list[int], n_variants: int) -> Candidates:
    """Every variant of every title, grouped by title (for ``choose_each``): action
    ``title * n_variants + variant``, features the one-hot style."""
    titles = np.asarray(title_ids, np.int64)
    variants, features, scores = _artwork_layout(len(titles), n_variants)
    ids = np.repeat(titles, n_variants) * n_variants + variants
    return Candidates(ids=ids, features=features, scores=scores)


@functools.lru_cache(maxsize=16)
def _artwork_layout(n_titles: int, n_variants: int) -> tuple[np.ndarray, ...]:
    """The variant of each artwork action, its one-hot features and zero scores: the same
    for every page with as many slots, so built once (read-only, shared by those pages)."""
    variants = np.tile(np.arange(n_variants), n_titles)
    arrays = (variants, bandit_contexts.one_hot(variants, n_variants), np.zeros(len(variants)))
    for array in arrays:
        array.flags.writeable = False
    return arrays


def artwork_action(title_id: int, variant: int, n_variants: int) -> int:
    return title_id * n_variants + variant


def one_hot(index: int, size: int) -> np.ndarray:
    """(size,) a row kind's or an artwork style's features, as the update feeds them back."""
    return bandit_contexts.one_hot([index], size)[0]
