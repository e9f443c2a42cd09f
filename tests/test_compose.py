"""compose.yaml runs the same code on PostgreSQL and Redis (no Docker engine here: check its shape)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_has_the_loops_services_wired_to_postgres_and_redis():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "redis", "web", "worker", "beat", "traffic"} <= set(services)
    assert services["db"]["image"].startswith("postgres")
    assert services["redis"]["image"].startswith("redis")
    for name in ("web", "worker", "beat", "traffic"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://"), name
        assert env["CELERY_BROKER_URL"].startswith("redis://"), name
    assert "gunicorn config.wsgi" in services["web"]["command"]
    assert "celery -A config worker" in services["worker"]["command"]
    assert "celery -A config beat" in services["beat"]["command"]
    assert (
        "simulator.client" in services["traffic"]["command"]
        and "--live" in services["traffic"]["command"]
    )
    assert (ROOT / "Dockerfile").exists()
