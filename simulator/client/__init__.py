"""Drive simulated members through the platform's public HTTP API, like people in a browser.

The client sees only what the API returns and answers only through the API (docs/api.md):

1. log each account in (``POST /api/v1/auth/token``), find its profiles' member ids
   (``GET /api/v1/me``, by profile name) and the platform id of every title
   (``GET /api/v1/titles``, by ``external_id``);
2. for each simulated visit, fetch the homepage at the simulated time
   (``GET /api/v1/members/{id}/homepage?at=...``), let :mod:`simulator.behaviour` decide what
   the member examines, plays and rates, and post that as one batch (``POST /api/v1/events``).
   A member whom nothing on the page tempted may search for the title they want
   (``GET /api/v1/search?q=<its name>&member=...``) and play it (``search_play``) if the
   platform finds it. A member who churns stops visiting for the rest of the run.

Members run concurrently; each member's visits run in time order, and all timestamps are
simulated (never later than the real clock). The package, one job a module:
:mod:`~simulator.client.protocol` (the API contract as pure functions: reading a homepage,
writing the events), :mod:`~simulator.client.api` (the HTTP layer, :class:`Api`, kept thin),
:mod:`~simulator.client.traffic` (orchestration: :class:`Traffic`, :func:`run_traffic`,
:func:`run_live`) and :mod:`~simulator.client.cli` (the command line).

Usage::

    python -m simulator.client --base-url http://localhost:8000 --world var/world --days 7
    python -m simulator.client --base-url http://web:8000 --world var/world --live --pause 30
"""

from simulator.client.api import (
    API_PREFIX,
    DEFAULT_TRIES,
    Api,
    ClientError,
    backoff_delays,
    error_message,
)
from simulator.client.cli import main
from simulator.client.protocol import (
    EXAMINE_SECONDS,
    MAX_BATCH,
    SEARCH_SECONDS,
    ServedPage,
    WorldMismatchError,
    build_events,
    chunked,
    member_ids,
    parse_homepage,
    title_ids,
)
from simulator.client.traffic import (
    Clock,
    DayCounts,
    Traffic,
    TrafficReport,
    run_live,
    run_traffic,
    visit_times,
)

__all__ = [
    "API_PREFIX",
    "DEFAULT_TRIES",
    "EXAMINE_SECONDS",
    "MAX_BATCH",
    "SEARCH_SECONDS",
    "Api",
    "ClientError",
    "Clock",
    "DayCounts",
    "ServedPage",
    "Traffic",
    "TrafficReport",
    "WorldMismatchError",
    "backoff_delays",
    "build_events",
    "chunked",
    "error_message",
    "main",
    "member_ids",
    "parse_homepage",
    "run_live",
    "run_traffic",
    "title_ids",
    "visit_times",
]
