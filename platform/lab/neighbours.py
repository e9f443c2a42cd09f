"""Reads for the lab's similar-members check: do the stored member embeddings mean something?

For one member, the members nearest by cosine similarity of the production version's stored
member vectors, each with how much their viewing histories overlap (Jaccard of the sets of
titles played), beside the same overlap with a seeded random sample of members. Neighbours
that share clearly more of their histories than random members do are the sanity check;
embeddings that mean nothing show no difference.
"""

from dataclasses import dataclass

import numpy as np

from events.selectors import played_titles
from members.models import Member
from modeling.embeddings import embedding_matrix, embedding_set_for, nearest
from modeling.models import Embedding, ModelVersion
from modeling.selectors import production_version

RANDOM_SAMPLE = 50
"""Members drawn at random (seeded by the member's id) for the overlap baseline."""


@dataclass(frozen=True)
class Neighbour:
    member_id: int
    name: str
    similarity: float  # cosine of the two member vectors
    shared_titles: int  # titles both have played
    jaccard: float  # shared / titles either has played


@dataclass(frozen=True)
class MemberNeighbours:
    """The check for one member; `reason` says why `neighbours` is empty when it is."""

    member_id: int
    version: ModelVersion | None
    reason: str
    played: int  # titles the member has played
    neighbours: list[Neighbour]
    neighbour_jaccard: float | None  # mean over the neighbours
    random_jaccard: float | None  # mean over the random sample
    random_sample: int


def member_neighbours(*, member_id: int, k: int = 10) -> MemberNeighbours | None:
    """None if there is no such member; else the check (see the module docstring)."""
    if not Member.objects.filter(pk=member_id).exists():
        return None
    version = production_version()
    embedding_set = embedding_set_for(version=version)
    empty = {"neighbours": [], "neighbour_jaccard": None, "random_jaccard": None}
    played = played_titles(member_ids=[member_id])[member_id]
    if version is None or embedding_set is None or embedding_set.method == "none":
        reason = (
            "no model in production"
            if version is None
            else f"v{version.pk} has no stored member embeddings"
            + (f": {embedding_set.note}" if embedding_set else " yet")
        )
        return MemberNeighbours(member_id, version, reason, len(played), random_sample=0, **empty)
    keys, vectors = embedding_matrix(embedding_set=embedding_set, entity=Embedding.Entity.MEMBER)
    row = int(np.searchsorted(keys, member_id))
    if row >= len(keys) or keys[row] != member_id:
        reason = f"v{version.pk} was trained before member {member_id} played anything"
        return MemberNeighbours(member_id, version, reason, len(played), random_sample=0, **empty)
    alive = set(Member.objects.filter(pk__in=keys.tolist()).values_list("pk", flat=True))
    exclude = ~np.isin(keys, np.fromiter(alive, np.int64, len(alive))) | (keys == member_id)
    rows, similarity = nearest(vectors, vectors[row], k=k, exclude=exclude)
    others = np.flatnonzero(~exclude)
    rng = np.random.default_rng(member_id)
    sample = rng.choice(others, size=min(RANDOM_SAMPLE, len(others)), replace=False)
    ids = sorted({member_id, *keys[rows].tolist(), *keys[sample].tolist()})
    histories = played_titles(member_ids=ids)
    names = dict(Member.objects.filter(pk__in=ids).values_list("pk", "name"))
    mine = histories[member_id]

    def overlap(other: int) -> tuple[int, float]:
        shared = len(mine & histories[other])
        union = len(mine | histories[other])
        return shared, shared / union if union else 0.0

    neighbours = []
    for r, s in zip(rows, similarity, strict=True):
        other = int(keys[r])
        shared, jaccard = overlap(other)
        neighbours.append(Neighbour(other, names.get(other, ""), float(s), shared, jaccard))
    baseline = [overlap(int(keys[r]))[1] for r in sample]
    return MemberNeighbours(
        member_id,
        version,
        "" if neighbours else "no other member has an embedding",
        len(mine),
        neighbours,
        float(np.mean([n.jaccard for n in neighbours])) if neighbours else None,
        float(np.mean(baseline)) if baseline else None,
        len(baseline),
    )
