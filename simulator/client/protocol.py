"""The client's side of the API contract (docs/api.md), as pure functions.

Reading a homepage response into a grid the behaviour code can visit, matching the world's
profiles and titles to the platform's ids, and writing what a member did as the event batch
the API accepts. Nothing here talks to the network or reads the clock, so it is tested
without a server (tests/simulator/test_client.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from simulator.behaviour import VisitOutcome
from simulator.clock import format_time
from simulator.world import Account

MAX_BATCH = 500
"""Most events the API accepts in one POST."""
EXAMINE_SECONDS = 2
"""Simulated seconds a member spends looking at one item before the next."""
SEARCH_SECONDS = 20
"""Simulated seconds from leaving the page to playing what search found."""


class WorldMismatchError(Exception):
    """The platform's data does not match the world (e.g. it was seeded from another world)."""


@dataclass(frozen=True)
class ServedPage:
    """A homepage the platform served, as the member sees it: a grid for the behaviour code.

    (The platform's fact log keeps its own record of the page, ``events.models.PageView``;
    this is the simulator's reading of the API response, not that record.)
    """

    page_id: str
    grid: np.ndarray
    """(rows, max row length) world title indices in display order; -1 = empty or unknown."""
    title_ids: np.ndarray
    """Same shape: platform title ids; -1 = empty."""
    positions: np.ndarray
    """Same shape: the platform's ``position`` of each item; -1 = empty."""
    row_keys: tuple[str, ...]
    fallback: bool
    artwork: np.ndarray | None = None
    """Same shape: the artwork variant the platform chose for each item (``item["artwork"]``,
    0 when the payload has none, and for empty slots); None: variant 0 everywhere."""


def member_ids(me: dict[str, Any], account: Account) -> dict[str, int]:
    """Map each profile of ``account`` (by key) to its platform member id, matching by name."""
    by_name = {m["name"]: int(m["id"]) for m in me.get("members", [])}
    out, missing = {}, []
    for member in account.members:
        if member.name in by_name:
            out[member.key] = by_name[member.name]
        else:
            missing.append(member.name)
    if missing:
        raise WorldMismatchError(
            f"account {account.username!r} has no profile named {', '.join(map(repr, missing))} "
            f"on the platform (it has {sorted(by_name)}); was it seeded from this world's "
            "members.json?"
        )
    return out


def title_ids(results: Iterable[dict[str, Any]]) -> dict[str, int]:
    """external_id -> platform title id, from the ``results`` of ``GET /api/v1/titles`` pages."""
    return {t["external_id"]: int(t["id"]) for t in results}


def parse_homepage(payload: dict[str, Any], world_index: dict[int, int]) -> ServedPage:
    """Lay a homepage response out as a grid of world title indices.

    ``world_index`` maps platform title id -> world title index. A title the world does not
    know (added to the platform by someone else) becomes -1: the member ignores it. Each
    item's ``artwork`` (an int, the variant the platform chose; 0 when absent) is the
    variant the member sees; anything but a whole number >= 0 raises ValueError naming the
    row and position.
    """
    rows = payload.get("rows", [])
    width = max((len(r["items"]) for r in rows), default=0)
    grid = np.full((len(rows), width), -1, dtype=np.int64)
    ids = np.full_like(grid, -1)
    positions = np.full_like(grid, -1)
    artwork = np.zeros_like(grid)
    for r, row in enumerate(rows):
        for c, item in enumerate(sorted(row["items"], key=lambda i: i["position"])):
            platform_id = int(item["title"]["id"])
            grid[r, c] = world_index.get(platform_id, -1)
            ids[r, c] = platform_id
            positions[r, c] = int(item["position"])
            artwork[r, c] = _artwork_variant(item.get("artwork", 0), row, item)
    return ServedPage(
        page_id=str(payload["page_id"]),
        grid=grid,
        title_ids=ids,
        positions=positions,
        row_keys=tuple(str(row["key"]) for row in rows),
        fallback=bool(payload.get("fallback", False)),
        artwork=artwork,
    )


def _artwork_variant(value: Any, row: dict[str, Any], item: dict[str, Any]) -> int:
    """An item's ``artwork`` as a variant index; ValueError naming the item otherwise."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"homepage row {row.get('key')!r} position {item.get('position')}: artwork must "
            f"be a whole number >= 0 (the variant shown), got {value!r}"
        )
    return value


def build_events(
    outcome: VisitOutcome,
    page: ServedPage,
    *,
    member_id: int,
    visit_at: datetime,
    now: datetime,
    search: tuple[int, str] | None = None,
    device: str | None = None,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> list[dict[str, Any]]:
    """The event batch of one visit, in the order things happened.

    Examined items become ``impression_seen`` a few simulated seconds apart; a play follows the
    last look; a thumb up comes when the play ends, a thumb down right after the look. Times are
    clamped to ``now`` so no event claims to be in the future. ``search`` (platform title id,
    query) adds the ``search_play`` of a title the member found by search after the page.
    ``device`` (the visit's, one of ``simulator.world.DEVICES``) goes on every event, the
    search play included (the platform would give the page's events the page's device, but
    not a search play's); None leaves it out.
    """
    on_device = {} if device is None else {"device": device}

    def event(kind: str, slot: tuple[int, int], at: datetime, **extra: Any) -> dict[str, Any]:
        return {
            "event_id": new_id(),
            "type": kind,
            "member": member_id,
            "title": int(page.title_ids[slot]),
            "occurred_at": format_time(min(at, now)),
            "page_id": page.page_id,
            "row_key": page.row_keys[slot[0]],
            "position": int(page.positions[slot]),
            **on_device,
            **extra,
        }

    seen_at = {
        slot: visit_at + timedelta(seconds=EXAMINE_SECONDS * k)
        for k, slot in enumerate(outcome.examined)
    }
    events = [event("impression_seen", slot, at) for slot, at in seen_at.items()]
    play_at = visit_at + timedelta(seconds=EXAMINE_SECONDS * len(outcome.examined))
    if outcome.played is not None:
        events.append(
            event("play", outcome.played, play_at, watched_seconds=outcome.watched_seconds)
        )
    if search is not None and outcome.searched and outcome.title is not None:
        title_id, query = search
        events.append(
            {
                "event_id": new_id(),
                "type": "search_play",
                "member": member_id,
                "title": int(title_id),
                "occurred_at": format_time(min(play_at + timedelta(seconds=SEARCH_SECONDS), now)),
                "watched_seconds": outcome.watched_seconds,
                "query": query,
                **on_device,
            }
        )
    for slot, kind in outcome.thumbs:
        if kind == "thumb_up":
            at = play_at + timedelta(seconds=outcome.watched_seconds)
        else:
            at = seen_at[slot] + timedelta(seconds=1)
        events.append(event(kind, slot, at))
    return events


def chunked(items: list[Any], size: int = MAX_BATCH) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
