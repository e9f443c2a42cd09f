"""Small seeded worlds shared by the simulator tests (generated once per session: cheap)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulator.world import World

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def world() -> World:
    return World.generate(n_titles=300, n_members=60, seed=0, now=NOW)


@pytest.fixture(scope="session")
def world_dir(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world.save(tmp_path_factory.mktemp("world"))
