"""The production settings refuse to start without what they need, and say what is missing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FULL = {
    "DJANGO_SECRET_KEY": "a-real-secret-for-the-test-only-0123456789abcdefghijklmnop",
    "DJANGO_ALLOWED_HOSTS": "example.org",
    "DATABASE_URL": "sqlite:////tmp/unused.sqlite3",
}


def load_production(env: dict) -> subprocess.CompletedProcess:
    code = "import config.settings.production as s; print(s.DEBUG, s.ALLOWED_HOSTS)"
    clean = {k: v for k, v in os.environ.items() if k not in FULL}
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = ['platform', '.']; {code}"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def test_production_settings_load_with_everything_set():
    result = load_production(FULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "['example.org']"]


@pytest.mark.parametrize("name", sorted(FULL))
def test_production_settings_name_what_is_missing(name):
    result = load_production({k: v for k, v in FULL.items() if k != name})
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("django.core.exceptions.ImproperlyConfigured")
    assert [n for n in FULL if n in error] == [name], error


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in FULL and k != "DJANGO_DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "key",
    [
        "short-key",
        "a" * 60,
        "django-insecure-" + "x1y2z3" * 10,
        "insecure-dev-key-do-not-use-in-production",
    ],
)
def test_production_settings_refuse_a_weak_secret_key(key):
    result = load_production({**FULL, "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert "DJANGO_SECRET_KEY is too weak" in error and "secrets.token_urlsafe" in error


def test_production_settings_secure_the_transport():
    code = (
        "import config.settings.production as s; print(s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_PROXY_SSL_HEADER)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = ['platform', '.']; {code}"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in FULL}, **FULL},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=4) == [
        "True",
        "True",
        "True",
        "31536000",
        "('HTTP_X_FORWARDED_PROTO', 'https')\n",
    ]


def test_check_deploy_is_clean_on_the_production_settings():
    result = manage(
        {**FULL, "DJANGO_SETTINGS_MODULE": "config.settings.production"},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_demo_settings_serve_with_debug_off():
    """`make demo` runs config.settings.local: a debug page there would show source and
    settings to anyone who can reach the port (the JSON errors are tested in tests/platform/api)."""
    code = "import config.settings.local as s; print(s.DEBUG)"
    local = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = ['platform', '.']; {code}"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"},
        capture_output=True,
        text=True,
    )
    assert local.stdout.strip() == "False", local.stderr


def load_base(
    env: dict, expression: str = "s.HOMEPAGE_PLAN_SECONDS"
) -> subprocess.CompletedProcess:
    code = f"import config.settings.base as s; print(repr({expression}))"
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = ['platform', '.']; {code}"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HOMEPAGE_PLAN_SECONDS", "soon", "'soon' is not a number"),
        ("HOMEPAGE_PLANS_KEPT", "-1", "'-1' must be at least 0"),
        ("HOMEPAGE_ROW_SIZE", "2.5", "'2.5' is not a whole number"),
        ("HOMEPAGE_HOLDOUT_FRACTION", "1.5", "'1.5' must be at most 1"),
        ("HOMEPAGE_OPE_TEMPERATURE", "nan", "'nan' is not a finite number"),
        ("HOMEPAGE_EXPLORATION_CANDIDATES", "0", "'0' must be at least 1"),
    ],
)
def test_a_bad_number_in_the_environment_stops_the_start_naming_it(name, value, says):
    result = load_base({name: value})
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert error == f"django.core.exceptions.ImproperlyConfigured: {name}={says}.", error


def test_numbers_in_the_environment_are_read_with_their_kind():
    result = load_base(
        {"HOMEPAGE_PLAN_SECONDS": " 5 ", "HOMEPAGE_ROW_SIZE": "7"},
        "(s.HOMEPAGE_PLAN_SECONDS, s.HOMEPAGE_ROW_SIZE, s.HOMEPAGE_PLANS_KEPT)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(5.0, 7, 500)"


def test_the_shared_plan_store_is_a_redis_url_or_nothing():
    off = load_base({"HOMEPAGE_PLAN_CACHE_URL": ""}, "(s.HOMEPAGE_PLAN_CACHE, sorted(s.CACHES))")
    assert off.stdout.strip() == "('', ['default'])", off.stderr
    on = load_base(
        {"HOMEPAGE_PLAN_CACHE_URL": "redis://127.0.0.1:6379/3"},
        "(s.HOMEPAGE_PLAN_CACHE, s.CACHES['plans']['LOCATION'])",
    )
    assert on.stdout.strip() == "('plans', 'redis://127.0.0.1:6379/3')", on.stderr
    bad = load_base({"HOMEPAGE_PLAN_CACHE_URL": "http://127.0.0.1:6379"})
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: HOMEPAGE_PLAN_CACHE_URL="
        "'http://127.0.0.1:6379' is not a Redis URL (redis://host:port/db, rediss:// or unix://)."
    )


def test_postgresql_prepares_the_queries_a_connection_repeats_unless_turned_off():
    pg = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused"}
    options = "s.DATABASES['default'].get('OPTIONS')"
    on = load_base(pg, options)
    assert on.stdout.strip() == "{'server_side_binding': True, 'prepare_threshold': 5}", on.stderr
    off = load_base({**pg, "HOMEPAGE_DB_PREPARE": "off"}, options)
    assert off.stdout.strip() == "None", off.stderr
    bad = load_base({**pg, "HOMEPAGE_DB_PREPARE": "sometimes"}, options)
    assert bad.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: HOMEPAGE_DB_PREPARE='sometimes' is not a "
        "switch (1/0, true/false, on/off)."
    )
