"""One retrain at a time, across every worker process.

A retrain holds the retrain lock while it works. On PostgreSQL the lock is a session-level
advisory lock: it belongs to the worker's database connection, so the server releases it the
moment that worker dies (kill -9 included, its socket closes) and no lease has to expire
before another worker may resume the run. On the embedded default (SQLite, one machine) it is
an flock on a file beside the checkpoints, which the kernel releases the same way.

A pool that shares server sessions between clients (PgBouncer in transaction mode) would hand
the lock to the wrong client: connect the workers to PostgreSQL directly.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

RETRAIN_LOCK_KEY = 0x48504C52  # any constant the application owns; "HPLR"


@contextmanager
def retrain_lock() -> Iterator[bool]:
    """Try to take the retrain lock without waiting: yields True if this process now holds it
    (until the block ends), False if another process does."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [RETRAIN_LOCK_KEY])
            held = cursor.fetchone()[0]
        try:
            yield held
        finally:
            if held:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s)", [RETRAIN_LOCK_KEY])
                except DatabaseError:
                    pass  # the session is gone, and its lock went with it
        return
    path = Path(settings.MODEL_DIR) / ".retrain.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
