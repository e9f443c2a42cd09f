"""Django's PostgreSQL backend, with a health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before a request or task
first uses it, so that one the server dropped (a restart, `pg_terminate_backend`, a
failover) is replaced instead of failing the request. Django's check runs `SELECT 1`: a
round trip to the database on every request, a fifth of the statements of a homepage
served from a plan (docs/benchmarks.md, "The floor of a page, and plans that last").

A server that drops a connection tells its client first: PostgreSQL sends the backend's
FATAL error and closes the socket, and a restarted or failed-over server's socket is
closed. Either way the idle connection's socket has something to read. So the check looks
at the socket without waiting: nothing to read, no transaction open and the connection
in good standing is a usable connection; anything else (something arrived while it was
idle, a transaction left open, psycopg 2) gets Django's own `SELECT 1`. A connection whose
peer vanished without a word (a cable pulled) passes both checks alike: its first query
fails, as it would after a `SELECT 1` that had to wait for the network to time out.
"""

import select

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import is_psycopg3

if is_psycopg3:
    from psycopg import pq

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        if is_psycopg3 and self._quiet_and_idle():
            return True
        return super().is_usable()

    def _quiet_and_idle(self) -> bool:
        """Whether the connection is open, outside a transaction and has received nothing
        since its last answer: no goodbye from the server, no stray message."""
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError):  # a closed socket, or a descriptor select cannot watch
            return False
        return not readable
