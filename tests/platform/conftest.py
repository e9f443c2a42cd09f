import pytest
from rest_framework.test import APIClient

from events.selectors import trending_reset
from modeling import ranking
from tests.factories import MemberFactory


@pytest.fixture(autouse=True)
def _isolated_models(settings, tmp_path):
    """Each test gets its own checkpoint folder and an empty model cache."""
    settings.MODEL_DIR = tmp_path / "models"
    ranking.reset_cache()
    trending_reset()
    yield
    ranking.reset_cache()
    trending_reset()


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
