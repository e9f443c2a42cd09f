"""Writes to the fact log: a page's impressions, as one record, read back through the view."""

import numpy as np
import pytest
from django.db import IntegrityError

from events.models import SLOTS_PER_RECORD, Impression, PageImpressions, PageView
from events.services import page_record
from exploration.models import BanditState
from tests.factories import NOW, MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db


def slots(titles, state) -> list[dict]:
    """Slots with every kind of value a page logs, and text that JSON must escape."""
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


DEFAULTS = {
    "explored": False,
    "bandit_state_id": None,
    "estimated": False,
    "draws": 0,
    "bandit_inputs": {},
    "artwork": 0,
    "artwork_propensity": 1.0,
    "artwork_policy": "",
    "artwork_state_id": None,
}


def expected(slot: dict, *, page: PageView, record: int, n: int) -> dict:
    """What the log must read back for a slot: its values as JSON keeps them, the defaults
    for what it leaves out, its page's own columns, and its id from its record's."""
    values = {**DEFAULTS, **slot}
    for name in ("title", "artwork_state", "bandit_state"):
        if name in values:
            value = values.pop(name)
            values[f"{name}_id"] = value.pk if value is not None else None
    values["propensity"] = float(values["propensity"])
    values["bandit_inputs"] = {
        str(k): v for k, v in values["bandit_inputs"].items()
    }  # JSON keys are strings
    return {
        **values,
        "id": record * SLOTS_PER_RECORD + n,
        "record": record,
        "member_id": page.member_id,
        "served_at": page.served_at,
        "model_version_id": page.model_version_id,
    }


def test_a_pages_impressions_read_back_through_the_view_as_they_were_written():
    """page_record writes a page's slots as one JSON array (events.PageImpressions); the
    Impression view must give back every column of every slot exactly: floats to the last
    bit, text with tabs, newlines, quotes and non-ASCII characters, null and absent values
    (the defaults), keys by field name; and ids that follow the records and the slots'
    order."""
    member = MemberFactory()
    titles = TitleFactory.create_batch(3)
    state = BanditState.objects.create(use="slots", version=1, policy="p", config={}, state=b"")
    pages = [
        page_record(
            member=member,
            served_at=NOW,
            model_version_id=None,
            fallback=True,
            fallback_reason="",
            slots=slots(titles, state),
        )
        for _ in range(2)
    ]
    for page in pages:
        record = PageImpressions.objects.get(page=page)
        assert record.slot_count == 3
        want = [
            expected(slot, page=page, record=record.pk, n=n)
            for n, slot in enumerate(slots(titles, state))
        ]
        got = list(Impression.objects.filter(page=page).order_by("id").values(*want[0]))
        assert got == want
    first, second = (
        list(Impression.objects.filter(page=p).values_list("id", flat=True)) for p in pages
    )
    assert max(first) < min(second)
    assert Impression.objects.get(pk=first[1]).propensity == 0.123456789012345678


def test_an_id_range_reads_the_impressions_in_it():
    """`Impression.objects.ids(after, through)` bounds the records too (the database looks
    those up); it must give exactly the impressions whose ids are in the range, for ranges
    that start and end inside a page, on a page's edge, and past the last."""
    member, titles = MemberFactory(), TitleFactory.create_batch(4)
    for n in (4, 1, 3):
        _page(member, titles[:n])
    every = sorted(Impression.objects.values_list("id", flat=True))
    assert len(every) == 8
    cuts = [0, *every, every[-1] + SLOTS_PER_RECORD * 5]
    for after in cuts:
        for through in cuts:
            if through < after:
                continue
            got = sorted(Impression.objects.ids(after, through).values_list("id", flat=True))
            assert got == [i for i in every if after < i <= through], (after, through)
        got = sorted(Impression.objects.ids(after).values_list("id", flat=True))
        assert got == [i for i in every if i > after]


BAD_SLOTS = {
    "a propensity of 0": ({"propensity": 0.0}, "propensity"),
    "a propensity over 1": ({"propensity": 1.5}, "propensity"),
    "a propensity of NaN": ({"propensity": float("nan")}, "propensity"),
    "an artwork propensity over 1": ({"artwork_propensity": 2.0}, "artwork_propensity"),
    "no policy": ({"policy": None}, "no policy"),
    "a row key too long": ({"row_key": "k" * 41}, "row_key"),
    "a position that is not an integer": ({"position": "first"}, "position"),
}


@pytest.mark.parametrize("case", list(BAD_SLOTS))
def test_a_slot_the_log_cannot_hold_is_refused_and_nothing_of_the_page_is_stored(case):
    """What the table's constraints refused when each impression was a row: refused still,
    naming the field, with nothing of the page stored."""
    from django.db import IntegrityError

    change, message = BAD_SLOTS[case]
    member, titles = MemberFactory(), TitleFactory.create_batch(2)
    with pytest.raises(IntegrityError, match=message):
        page_record(
            member=member,
            served_at=NOW,
            model_version_id=None,
            fallback=True,
            fallback_reason="",
            slots=[
                {
                    "row_key": "r",
                    "row_index": 0,
                    "position": 0,
                    "title_id": titles[0].pk,
                    "policy": "p",
                    "propensity": 1.0,
                },
                {
                    "row_key": "r",
                    "row_index": 0,
                    "position": 1,
                    "title_id": titles[1].pk,
                    "policy": "p",
                    "propensity": 1.0,
                    **change,
                },
            ],
        )
    assert not PageView.objects.exists() and not PageImpressions.objects.exists()


def test_a_slot_or_a_title_twice_on_a_page_is_refused():
    from django.db import IntegrityError

    member, titles = MemberFactory(), TitleFactory.create_batch(2)
    with pytest.raises(IntegrityError, match="impression_title_once_a_page"):
        _page(member, [titles[0], titles[0]])
    base = {"row_key": "r", "row_index": 0, "position": 0, "policy": "p", "propensity": 1.0}
    with pytest.raises(IntegrityError, match="impression_slot_unique"):
        page_record(
            member=member,
            served_at=NOW,
            model_version_id=None,
            fallback=True,
            fallback_reason="",
            slots=[{**base, "title_id": t.pk} for t in titles],
        )
    assert not PageView.objects.exists() and not PageImpressions.objects.exists()


def test_the_view_cannot_be_written_through_the_model():
    member, title = MemberFactory(), TitleFactory()
    impression = Impression.objects.get(page=_page(member, [title]))
    with pytest.raises(ValueError, match="page_record"):
        impression.save()
    with pytest.raises(ValueError, match="never deleted"):
        impression.delete()


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
    record's write checks it (events.services.ImpressionRows.write), and the whole page
    goes."""
    from django.db import IntegrityError, transaction

    member, title = MemberFactory(), TitleFactory()
    missing = type("Missing", (), {"pk": title.pk + 1000})()
    with pytest.raises(IntegrityError), transaction.atomic():
        _page(member, [title, missing])
    assert not PageView.objects.exists() and not Impression.objects.exists()
    _page(member, [title])  # and the same page with real titles only is stored
    assert Impression.objects.count() == 1


def test_what_impressions_refer_to_cannot_be_deleted():
    """Impressions are a view (events.models.Impression), so the database holds no key of
    theirs, but Django's PROTECT still refuses to delete their page, member, model
    version, title or bandit states while an impression refers to it."""
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
    for referred in (member, version, slots_state, artwork_state, page, titles[0]):
        with pytest.raises(ProtectedError):
            referred.delete()
    stored = Impression.objects.filter(page=page)
    assert stored.count() == 2
    assert {
        (i.member_id, i.model_version_id, i.bandit_state_id, i.artwork_state_id) for i in stored
    } == {(member.pk, version.pk, slots_state.pk, artwork_state.pk)}


@pytest.mark.django_db(transaction=True)
def test_a_page_from_a_plan_is_one_statement_on_postgresql_and_reads_back_whole():
    """A request runs in autocommit: on PostgreSQL its page row and record go in one
    statement (events.services.ImpressionRows.write_with), the one round trip a page from
    a plan costs the log; elsewhere they go in one transaction. Either way the page
    returned is the page stored, column for column."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from events.services import impression_rows

    member, titles = MemberFactory(), TitleFactory.create_batch(3)
    state = BanditState.objects.create(use="slots", version=1, policy="p", config={}, state=b"")
    prepared = impression_rows(slots(titles, state))
    with CaptureQueriesContext(connection) as queries:
        page = page_record(
            member=member,
            served_at=NOW,
            model_version_id=None,
            fallback=False,
            fallback_reason="",
            slots=prepared,
            device="tv",
            row_order_policy="linucb@v1",
            row_order_probability=0.25,
            exploration={"rows": [1, 2]},
            experiments={"3": "treatment"},
            build_ms=4.5,
            planned_at=NOW,
        )
    writes = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2)
    if connection.vendor == "postgresql":
        assert len(queries.captured_queries) == 1  # no BEGIN, no COMMIT, no read
    assert not page._state.adding
    stored = PageView.objects.get(pk=page.pk)
    fields = [f.attname for f in PageView._meta.concrete_fields]
    assert {f: getattr(stored, f) for f in fields} == {f: getattr(page, f) for f in fields}
    assert Impression.objects.filter(page=page).count() == 3
    with pytest.raises(ValueError, match="append-only"):
        page.save()  # the page returned is a stored one


@pytest.mark.django_db(transaction=True)
def test_a_page_refused_in_autocommit_leaves_nothing_and_the_connection_usable():
    """Outside any transaction (a request), a page with a title the catalogue does not hold
    is refused whole: neither its row nor its record is written, and the next page goes in."""
    member, title = MemberFactory(), TitleFactory()
    missing = type("Missing", (), {"pk": title.pk + 1000})()
    with pytest.raises(IntegrityError, match=rf"\[{title.pk + 1000}\].*nothing of the page"):
        _page(member, [title, missing])
    assert not PageView.objects.exists() and not PageImpressions.objects.exists()
    _page(member, [title])
    assert PageImpressions.objects.get().slot_count == 1
