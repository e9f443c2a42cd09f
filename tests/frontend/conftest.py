"""The browser tests' live server, made safe for the embedded default's SQLite.

pytest-django's live server answers each request on a thread of its own, and each thread opens
its own connection to the in-memory test database; SQLite's shared cache then refuses a
second writer at once ("database table is locked") instead of waiting, and a browser writes
concurrently (a batch of impressions while the next homepage is logged). On SQLite the live
server answers one request at a time instead (closing each connection, so a browser cannot
hold it). On PostgreSQL (CI) it stays threaded.
"""

from django.conf import settings
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread


class SerialWSGIServer(WSGIServer):
    """Requests answered in the live server's own thread, on its (shared) connection."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    LiveServerThread.server_class = SerialWSGIServer
