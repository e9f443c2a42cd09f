"""Who sees which arm: deterministic hash bucketing of members into experiment arms.

Why a hash and not a stored random draw: the serving path must answer "which arm is member m
in?" on every homepage request without a lookup or a write, on any worker, after any
restart, and get the same answer every time. A cryptographic hash of ``"{salt}:{member_id}"``
(blake2b) gives each member a *bucket*, a number in [0, 1) that is

- **stable**: the same bytes always hash to the same digest, in every process and on every
  machine (Python's built-in ``hash`` of a str is salted per process, so it is never used);
- **uniform**: the digest's top 53 bits are indistinguishable from uniform, so a share ``s``
  of the interval holds a share ``s`` of the members up to binomial noise (tests check it
  with a chi-square test that fails for a deliberately biased hash);
- **independent across experiments**: a different salt gives an unrelated digest, so being
  in arm A of one experiment says nothing about the arm in another (no carry-over of one
  experiment's effect into another's comparison).

Each arm owns a fixed interval of the bucket line. Growing a canary widens its intervals
without moving their start, so a member already in an arm stays in it (:func:`canary_arm`):
a member never sees both the control and the candidate. ``member_id`` 7 and ``"7"`` hash to
the same bucket (the key is the text ``"salt:7"``), so an int primary key and its string form
agree.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence

SHARE_TOLERANCE = 1e-9
"""Slack on "shares sum to at most 1": decimal shares such as 0.1 + 0.2 + 0.7 sum to 1 + 2e-16."""


class AbtestConfigError(ValueError):
    """An experiment configuration that cannot be served; the message names the bad value."""


def bucket(member_id: int | str, salt: str) -> float:
    """The member's bucket in [0, 1) for this salt: blake2b of ``f"{salt}:{member_id}"``.

    The top 53 bits of the digest divided by 2**53 (a double holds 53 bits exactly, so the
    result is never rounded up to 1.0).
    """
    if not isinstance(salt, str) or not salt:
        raise AbtestConfigError(f"salt must be a non-empty string, got {salt!r}")
    if isinstance(member_id, bool) or not isinstance(member_id, int | str):
        raise AbtestConfigError(f"member_id must be an int or a str, got {member_id!r}")
    return _bucket(member_id, salt)


def _bucket(member_id: int | str, salt: str) -> float:
    digest = hashlib.blake2b(f"{salt}:{member_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / 2.0**53


def _arm_list(arms: Sequence[tuple[str, float]] | Mapping[str, float]) -> list[tuple[str, float]]:
    if isinstance(arms, Mapping):
        return list(arms.items())
    try:
        return [(name, share) for name, share in arms]
    except (TypeError, ValueError) as error:
        raise AbtestConfigError(
            f"arms must be (name, share) pairs, got {arms!r}: {error}"
        ) from error


def validate_shares(shares: Sequence[tuple[str, float]] | Mapping[str, float]) -> None:
    """Raise :class:`AbtestConfigError` naming the bad value unless the arms can be served.

    ``shares`` is the arm list of :func:`arm_for` (``(name, share)`` pairs, or a mapping).
    Rejected: an empty list, an empty or duplicate name, a share that is not a finite number
    in [0, 1], shares summing to more than 1 (+1e-9). A sum below 1 is allowed: the rest of
    the members are in no arm and see production.
    """
    arms = _arm_list(shares)
    if not arms:
        raise AbtestConfigError("an experiment needs at least one arm; the arm list is empty")
    seen: set[str] = set()
    for name, share in arms:
        if not isinstance(name, str) or not name:
            raise AbtestConfigError(f"arm name must be a non-empty string, got {name!r}")
        if name in seen:
            raise AbtestConfigError(f"duplicate arm name {name!r}")
        seen.add(name)
        if isinstance(share, bool) or not isinstance(share, int | float):
            raise AbtestConfigError(f"arm {name!r}: share must be a number, got {share!r}")
        if not math.isfinite(share) or share < 0 or share > 1:
            raise AbtestConfigError(f"arm {name!r}: share {share!r} is not in [0, 1]")
    total = math.fsum(share for _, share in arms)
    if total > 1 + SHARE_TOLERANCE:
        listed = ", ".join(f"{name}={share!r}" for name, share in arms)
        raise AbtestConfigError(f"arm shares sum to {total!r} > 1 ({listed})")


def arm_for(
    member_id: int | str, salt: str, arms: Sequence[tuple[str, float]] | Mapping[str, float]
) -> str | None:
    """The arm whose bucket interval holds the member, or None (the member sees production).

    Arm i owns ``[s_0 + ... + s_{i-1}, s_0 + ... + s_i)``. The order of ``arms`` matters:
    reordering them reassigns members, so store it with the experiment.
    """
    return arms_for([member_id], salt, arms)[0]


def arms_for(
    member_ids: Iterable[int | str],
    salt: str,
    arms: Sequence[tuple[str, float]] | Mapping[str, float],
) -> list[str | None]:
    """:func:`arm_for` of many members at once (the arms validated once): for readouts and
    simulations that assign whole populations."""
    pairs = _arm_list(arms)
    validate_shares(pairs)
    ends, end = [], 0.0
    for _, share in pairs:
        end += share
        ends.append(end)
    names = [name for name, _ in pairs]
    out: list[str | None] = []
    for member_id in member_ids:
        b = bucket(member_id, salt)
        out.append(next((n for n, e in zip(names, ends, strict=True) if b < e), None))
    return out


def canary_arm(member_id: int | str, salt: str, share: float) -> str | None:
    """``"control"`` if bucket < share, ``"candidate"`` if 0.5 <= bucket < 0.5 + share, else None.

    The two arms grow from fixed starts (0 and 0.5), so raising ``share`` from 0.01 to 0.5
    only adds members to each arm: nobody moves between control and candidate, and the
    earlier days' members keep their arm as the canary grows. Control is a same-sized slice
    of production traffic measured alongside, so the comparison is always between equal
    shares on the same days (0 < share <= 0.5).
    """
    if (
        isinstance(share, bool)
        or not isinstance(share, int | float)
        or not (0 < share <= 0.5)  # also rejects nan
    ):
        raise AbtestConfigError(f"canary share must be in (0, 0.5], got {share!r}")
    b = bucket(member_id, salt)
    if b < share:
        return "control"
    if 0.5 <= b < 0.5 + share:
        return "candidate"
    return None
