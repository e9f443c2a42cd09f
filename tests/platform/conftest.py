import pytest
from rest_framework.test import APIClient

from events.selectors import trending_reset
from exploration import serving as exploration_serving
from modeling import ranking, selectors
from rollouts import serving as rollouts_serving
from tests.factories import MemberFactory


@pytest.fixture(autouse=True)
def _isolated_models(settings, tmp_path):
    """Each test gets its own checkpoint folder and empty serving caches (a rolled-back test
    leaves ids that SQLite hands out again, so a stamp could repeat)."""
    settings.MODEL_DIR = tmp_path / "models"
    caches = (
        ranking.reset_cache,
        trending_reset,
        selectors.reset_cache,
        exploration_serving.reset_cache,
        rollouts_serving.reset_cache,
    )
    for reset in caches:
        reset()
    yield
    for reset in caches:
        reset()


@pytest.fixture
def member(db):
    return MemberFactory(name="Ann")


@pytest.fixture
def client_for():
    def make(account) -> APIClient:
        client = APIClient()
        client.force_authenticate(account)
        return client

    return make


@pytest.fixture
def api(member, client_for) -> APIClient:
    return client_for(member.account)
