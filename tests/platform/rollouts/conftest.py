import pytest

from exploration import serving as exploration_serving
from rollouts import serving


@pytest.fixture(autouse=True)
def _fresh_experiment_cache():
    """Each test starts from no cached experiments or arm explorers in this process."""
    serving.reset_cache()
    exploration_serving.reset_cache()
    yield
    serving.reset_cache()
    exploration_serving.reset_cache()


@pytest.fixture
def staff(db):
    from django.contrib.auth.models import User

    return User.objects.create_user("staff", password="x", is_staff=True)


@pytest.fixture
def staff_api(staff, client_for):
    return client_for(staff)
