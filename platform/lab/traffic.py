"""Simulated traffic from the lab: how the simulator's client is started, read and steered.

The platform never imports the simulator (DESIGN.md). The lab runs its public command line,
``python -m simulator.client --live``, as a child process, and the child talks to the
platform only through the public API, like any member. This module holds the pure parts:
the command line, reading the client's round reports, and the controller that turns a
target rate in visits per second into the client's ``--activity-scale``.

Why a controller: the client's members visit at hidden, per-member rates (a power law: a few
visit a lot) and keep daily habits (most come in the evening), and the platform cannot know
either. It starts from its own estimate (visits per member per day at this time of day, from
the fact log), measures the rate the client reports, and restarts the client with a corrected
scale while the two disagree by more than TOLERANCE.
"""

import re
import sys
from dataclasses import dataclass
from pathlib import Path

SECONDS_PER_DAY = 86400.0
PAUSE_S = 2.0
"""Seconds between the client's live rounds (each simulates the visits due since the last)."""
CONCURRENCY = 4
"""Members the client runs in parallel."""
DEFAULT_VISITS_PER_MEMBER_DAY = 1.0
"""The first guess when the fact log has no visits to estimate from."""
TOLERANCE = 1.3
"""Measured and target rates within this factor of each other are left alone."""
MEASURE_S = 30.0
"""Seconds of rounds (after the first, which catches up a minute) before a measurement counts."""
MIN_VISITS_TO_MEASURE = 20
"""...and visits: fewer than this is mostly Poisson noise."""
MAX_RESTARTS = 3
MAX_SCALE = 1e6

_ROUND = re.compile(r"round (\d+): (\d+) visits, (\d+) plays")


@dataclass(frozen=True)
class Round:
    """One live round as the client reported it."""

    index: int
    visits: int
    plays: int


def round_report(line: str) -> Round | None:
    """Parse the client's "round 3: 12 visits, 4 plays" line; None for any other line."""
    match = _ROUND.search(line)
    return Round(*map(int, match.groups())) if match else None


def client_argv(
    *, base_url: str, world: Path, members: int, activity_scale: float, seed: int
) -> list[str]:
    """The simulator client's command line for a live run of the world's first `members`."""
    return [
        sys.executable, "-m", "simulator.client",
        "--base-url", base_url,
        "--world", str(world),
        "--live",
        "--members", str(members),
        "--activity-scale", f"{activity_scale:.6g}",
        "--pause", str(PAUSE_S),
        "--concurrency", str(CONCURRENCY),
        "--seed", str(seed),
    ]  # fmt: skip


def initial_scale(*, rate: float, members: int, visits_per_member_day: float | None) -> float:
    """The activity scale at which `members` members visiting `visits_per_member_day` times a
    day each would make `rate` visits per second."""
    per_day = visits_per_member_day or DEFAULT_VISITS_PER_MEMBER_DAY
    return min(MAX_SCALE, rate * SECONDS_PER_DAY / (members * per_day))


def corrected_scale(*, scale: float, target: float, measured: float) -> float | None:
    """The scale to restart the client with, or None to keep it: the rate is proportional to
    the scale, so scale by target / measured (at most 10x per step; nothing measured counts
    as a tenth of the target)."""
    if measured > 0 and 1 / TOLERANCE <= measured / target <= TOLERANCE:
        return None
    factor = min(10.0, target / measured) if measured > 0 else 10.0
    return min(MAX_SCALE, max(1e-3, scale * max(0.1, factor)))
