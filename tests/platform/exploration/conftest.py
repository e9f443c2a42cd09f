import uuid
from datetime import timedelta

import pytest

from events.models import Interaction
from exploration import serving
from exploration.services import explorer_config_set
from tests.factories import NOW, MemberFactory, TitleFactory


@pytest.fixture(autouse=True)
def _fresh_explorers():
    serving.reset_cache()
    yield
    serving.reset_cache()


def play(member, title, *, at, watched=3000):
    return Interaction.objects.create(
        event_id=uuid.uuid4(),
        type="play",
        member=member,
        title=title,
        watched_seconds=watched,
        occurred_at=at,
    )


@pytest.fixture
def world(db, settings):
    """A small catalogue with distinct popularity (so the fallback ranking has distinct
    scores), two new arrivals, and a member who started one title (Continue Watching)."""
    settings.HOMEPAGE_ROW_SIZE = 3
    titles = TitleFactory.create_batch(20, genres=["Drama"])
    titles += TitleFactory.create_batch(2, genres=["Comedy"], added_at=NOW - timedelta(days=5))
    others = MemberFactory.create_batch(3)
    for i, title in enumerate(titles[:16]):
        for n in range(i + 1):
            play(others[n % 3], title, at=NOW - timedelta(hours=2 + n))
    member = MemberFactory(name="Ann")
    play(member, titles[19], at=NOW - timedelta(hours=1), watched=600)
    return {"member": member, "titles": titles}


def configure(use, *, enabled=True, **fields):
    return explorer_config_set(use=use, enabled=enabled, **fields)
