"""compose.yaml runs the same code on PostgreSQL and Redis (no Docker engine here: check its shape),
and takes every secret from an env file that is never committed."""

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SECRETS = ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "HOMEPAGE_DEMO_PASSWORD")


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_has_the_loops_services_wired_to_postgres_and_redis():
    services = load_compose()["services"]
    assert {"db", "redis", "web", "worker", "beat", "traffic"} <= set(services)
    assert services["db"]["image"].startswith("postgres")
    assert services["redis"]["image"].startswith("redis")
    for name in ("web", "worker", "beat", "traffic"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://"), name
        assert env["CELERY_BROKER_URL"].startswith("redis://"), name
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production", name
    web = services["web"]["environment"]
    assert web["HOMEPAGE_PLAN_CACHE_URL"].startswith("redis://redis:6379/")  # plans shared
    assert web["HOMEPAGE_PLAN_CACHE_URL"] != web["CELERY_BROKER_URL"]  # not in the queues' db
    assert "gunicorn config.wsgi" in services["web"]["command"]
    assert "celery -A config worker" in services["worker"]["command"]
    assert "celery -A config beat" in services["beat"]["command"]
    assert (
        "simulator.client" in services["traffic"]["command"]
        and "--live" in services["traffic"]["command"]
    )
    assert (ROOT / "Dockerfile").exists()


def test_every_secret_comes_from_an_uncommitted_env_file():
    text = (ROOT / "compose.yaml").read_text()
    services = load_compose()["services"]
    for name in ("web", "worker", "beat", "traffic"):
        assert services[name]["env_file"] == ".env", name
        env = services[name]["environment"]
        assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?"), name
        password = re.match(r"postgres://homepage:(.*)@db:5432/homepage$", env["DATABASE_URL"])
        assert password and password.group(1).startswith("${POSTGRES_PASSWORD:?"), name
    assert services["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "$$HOMEPAGE_DEMO_PASSWORD" in services["web"]["command"]
    assert "--demo-password demo-password" not in text and "change-me" not in text
    # .env.example names every secret and holds none; .env is ignored by git and by docker.
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert example == dict.fromkeys(SECRETS, "")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=ROOT, capture_output=True
    ).returncode
    assert ignored == 0, ".env must be ignored by git"
    assert ".env" in (ROOT / ".dockerignore").read_text().split()
