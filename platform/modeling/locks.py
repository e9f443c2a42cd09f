"""One retrain at a time, and one worker on a run, across every worker process.

A retrain holds two locks while it works: its run's lock (so a second delivery of the same
task knows the run is taken) and the retrain lock (so no other run trains at the same time).
On PostgreSQL they are session-level advisory locks: they belong to the worker's database
connection, so the server releases them the moment that worker dies (kill -9 included, its
socket closes) and no lease has to expire before another worker may resume the run. On the
embedded default (SQLite, one machine) they are flocks on files beside the checkpoints, which
the kernel releases the same way.

A pool that shares server sessions between clients (PgBouncer in transaction mode) would hand
the locks to the wrong client: connect the workers to PostgreSQL directly.
"""

import fcntl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

RETRAIN_LOCK_KEY = 0x48504C52  # any constants the application owns; "HPLR"
RUN_LOCK_KEY = 0x48504C53


def retrain_lock() -> AbstractContextManager[bool]:
    """True while this process holds the retrain lock, False if another process does."""
    return _try_lock(RETRAIN_LOCK_KEY, 0)


def run_lock(run_id: int) -> AbstractContextManager[bool]:
    """True while this process holds run `run_id`'s lock, False if another process does."""
    return _try_lock(RUN_LOCK_KEY, run_id % 2**31)


@contextmanager
def _try_lock(key: int, number: int) -> Iterator[bool]:
    """Take the lock (key, number) without waiting; held until the block ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [key, number])
            held = cursor.fetchone()[0]
        try:
            yield held
        finally:
            if held:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [key, number])
                except DatabaseError:
                    pass  # the session is gone, and its locks went with it
        return
    path = Path(settings.MODEL_DIR) / f".lock-{key:x}-{number}"
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
