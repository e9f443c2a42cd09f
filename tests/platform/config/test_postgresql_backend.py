"""The PostgreSQL backend's health check (config.postgresql): a live, idle connection passes
without a query; one the server dropped, or one that received something while idle, gets
Django's `SELECT 1`, and a dropped one is replaced. What the server ran is read from a
second connection (pg_stat_activity), not from the backend's own code."""

import select
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as a request runs


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        skip_or_fail("the health check is the PostgreSQL backend's; DATABASE_URL=postgres://...")


@contextmanager
def observer():
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=True,
    ) as other:
        yield other


def last_query(other, pid: int) -> str | None:
    row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row and row[0]


def a_connection_that_last_ran(sql: str) -> int:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute(sql)
    return connection.connection.info.backend_pid


def test_a_live_idle_connection_passes_without_a_query():
    pid = a_connection_that_last_ran("SELECT 'before the check'")
    assert connection.is_usable()
    with observer() as other:
        assert last_query(other, pid) == "SELECT 'before the check'"


def test_a_connection_that_received_something_while_idle_is_asked_with_a_query():
    pid = a_connection_that_last_ran("LISTEN health_check_test")
    with observer() as other:
        other.execute("NOTIFY health_check_test")
        socket = connection.connection.pgconn.socket
        assert select.select([socket], [], [], 10)[0], "the notification did not arrive"
        assert connection.is_usable()
        assert last_query(other, pid) == "SELECT 1"


def test_a_connection_the_server_dropped_fails_the_check_and_is_replaced():
    pid = a_connection_that_last_ran("SELECT 'before the drop'")
    with observer() as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        deadline = time.monotonic() + 10
        while last_query(other, pid) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert last_query(other, pid) is None, "the backend did not end"
    assert not connection.is_usable()
    connection.health_check_done = False  # as at the start of a request
    connection.close_if_health_check_failed()
    assert connection.connection is None
    with connection.cursor() as cursor:  # the next query opens a new connection
        cursor.execute("SELECT 2")
        assert cursor.fetchone() == (2,)
    assert connection.connection.info.backend_pid != pid
