import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counts live in the cache, per process: each API test starts from none."""
    cache.clear()
    yield
    cache.clear()
