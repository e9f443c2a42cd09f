"""Writes to the fact log: a page's impressions, as COPY writes them on PostgreSQL."""

import uuid

import numpy as np
import pytest
from django.db import connection

from events.models import Impression, PageView
from events.services import page_record
from exploration.models import BanditState
from tests.conftest import skip_or_fail
from tests.factories import NOW, MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db

COMPARED = [
    f.attname for f in Impression._meta.concrete_fields if f.attname not in ("id", "page_id")
]


def slots(titles, state) -> list[dict]:
    """Slots with every kind of value a page logs, and text that COPY's format must escape."""
    return [
        {
            "row_key": "top_picks",
            "row_index": 0,
            "position": 0,
            "title_id": titles[0].pk,
            "policy": "model:ease:v1",
            "propensity": 1.0,
            "features": {"hour_sin": -0.258819, "score": 1 / 3, "days_in_catalog": 12.5},
        },
        {
            "row_key": "something_different",
            "row_index": 1,
            "position": 3,
            "title": titles[1],  # by field name, as Impression(**slot) takes it
            "policy": "thompson@v2\ttab\nline\\back",
            "propensity": np.float64(0.123456789012345678),
            "explored": True,
            "bandit_state_id": state.pk,
            "estimated": True,
            "draws": 200,
            "features": {"score": None, "text": 'quote " tab \t newline \n back \\ é ✓'},
            "bandit_inputs": {"context": [0.5, -1e-12, 3e300], "features": [[1, 2], []], 7: "x"},
            "artwork": 2,
            "artwork_propensity": 0.25,
            "artwork_policy": "linucb@v1",
            "artwork_state": state,
        },
        {
            "row_key": "my_list",
            "row_index": 2,
            "position": 0,
            "title_id": titles[2].pk,
            "policy": "my_list",
            "propensity": 1.0,
            "features": {},
            "bandit_state": None,
        },
    ]


def stored(page_id) -> list[tuple]:
    rows = Impression.objects.filter(page_id=page_id).order_by("row_index", "position")
    return list(rows.values_list(*COMPARED))


def test_a_pages_impressions_are_stored_as_bulk_create_stores_them():
    """On PostgreSQL page_record writes impressions with COPY in its text format; every
    column must hold what Django's own INSERT of the same slots holds."""
    if connection.vendor != "postgresql":
        skip_or_fail("the COPY path needs DATABASE_URL=postgres://...")
    member = MemberFactory()
    titles = TitleFactory.create_batch(3)
    state = BanditState.objects.create(use="slots", version=1, policy="p", config={}, state=b"")
    copied = page_record(
        member=member,
        served_at=NOW,
        model_version_id=None,
        fallback=True,
        fallback_reason="",
        slots=slots(titles, state),
    )
    inserted = PageView.objects.create(page_id=uuid.uuid4(), member=member, served_at=NOW)
    Impression.objects.bulk_create(
        Impression(page=inserted, member=member, served_at=NOW, **slot)
        for slot in slots(titles, state)
    )
    assert len(stored(copied.pk)) == 3
    assert stored(copied.pk) == stored(inserted.pk)


def test_a_slot_naming_no_field_is_refused_and_nothing_of_the_page_is_stored():
    member = MemberFactory()
    title = TitleFactory()
    bad = {"row_key": "r", "row_index": 0, "position": 0, "title_id": title.pk}
    with pytest.raises(TypeError, match="propensty"):
        page_record(
            member=member,
            served_at=NOW,
            model_version_id=None,
            fallback=True,
            fallback_reason="",
            slots=[{**bad, "policy": "p", "propensty": 0.5}],
        )
    assert not PageView.objects.exists() and not Impression.objects.exists()
