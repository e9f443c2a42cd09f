"""The simulator's clock: UTC everywhere, ISO 8601 with a ``Z`` on the wire.

Every part of the simulator (the world, the env, the client, the command lines) reads and
writes times through these few functions, so they agree on one convention: a naive time is
UTC, and the API's form is whole seconds with a ``Z`` suffix. The module imports nothing of
the simulator, so any module may use it without an import cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The real clock, in UTC."""
    return datetime.now(UTC)


def as_utc(t: datetime) -> datetime:
    """``t`` in UTC; a naive ``t`` is taken to be in UTC already."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def format_time(t: datetime) -> str:
    """ISO 8601 in UTC with a Z suffix and whole seconds, the form the API uses."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse ISO 8601 (Z or offset; a naive time is taken as UTC) into an aware UTC datetime."""
    return as_utc(
        datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    )
