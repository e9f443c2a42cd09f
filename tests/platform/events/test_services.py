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


def _page(member, titles, **slot) -> PageView:
    return page_record(
        member=member,
        served_at=NOW,
        model_version_id=slot.pop("model_version_id", None),
        fallback=True,
        fallback_reason="",
        slots=[
            {
                "row_key": "top_picks",
                "row_index": 0,
                "position": i,
                "title_id": title.pk,
                "policy": "p",
                "propensity": 1.0,
                **slot,
            }
            for i, title in enumerate(titles)
        ],
    )


@pytest.mark.django_db(transaction=True)
def test_an_impression_of_a_title_that_does_not_exist_is_refused_and_nothing_of_the_page_is_stored():
    """The title is the one key of an impression that its page row does not carry, so the
    database still checks it (events.models.Impression), on COPY's path and on the INSERT's;
    the check runs when the page's transaction commits, and the whole page goes."""
    from django.db import IntegrityError, transaction

    member, title = MemberFactory(), TitleFactory()
    missing = type("Missing", (), {"pk": title.pk + 1000})()
    with pytest.raises(IntegrityError), transaction.atomic():
        _page(member, [title, missing])
    assert not PageView.objects.exists() and not Impression.objects.exists()
    _page(member, [title])  # and the same page with real titles only is stored
    assert Impression.objects.count() == 1


def test_what_impressions_refer_to_cannot_be_deleted():
    """Their page, member, model version and bandit states are not checked by the database
    (events.models.Impression: the page row carries them), but Django's PROTECT still
    refuses to delete any of them while an impression refers to it."""
    from django.db.models import ProtectedError

    from modeling.models import ModelVersion

    member, titles = MemberFactory(), TitleFactory.create_batch(2)
    version = ModelVersion.objects.create(
        kind="popularity", checkpoint="v", trained_as_of=NOW, n_train_events=0
    )
    slots_state, artwork_state = (
        BanditState.objects.create(use=use, version=1, policy="p", config={}, state=b"")
        for use in ("slots", "artwork")
    )
    page = _page(
        member,
        titles,
        model_version_id=version.pk,
        bandit_state_id=slots_state.pk,
        artwork_state_id=artwork_state.pk,
    )
    for referred in (member, version, slots_state, artwork_state, page):
        with pytest.raises(ProtectedError):
            referred.delete()
    stored = Impression.objects.filter(page=page)
    assert stored.count() == 2
    assert {
        (i.member_id, i.model_version_id, i.bandit_state_id, i.artwork_state_id) for i in stored
    } == {(member.pk, version.pk, slots_state.pk, artwork_state.pk)}
