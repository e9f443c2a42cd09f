"""The hardening migrations keep the rows a running deployment already has.

Each test migrates its app back to before the change, writes rows the old way, migrates
forward, and reads them back the new way.
"""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tests.factories import MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db(transaction=True)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def every_app_migrated_forward_after():
    """Migrating one app back takes its dependants back too (events before 0008 has the
    impressions' table, whose keys refer to other apps' tables); every app goes forward again
    before the next test, or the test database could not be flushed."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate(target: tuple[str, str]):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


def latest(app: str) -> tuple[str, str]:
    executor = MigrationExecutor(connection)
    return next(node for node in executor.loader.graph.leaf_nodes() if node[0] == app)


def test_event_ids_scoped_to_their_member_keep_every_logged_event():
    old = migrate(("events", "0001_initial"))
    Interaction = old.get_model("events", "Interaction")
    member, title = MemberFactory(), TitleFactory()  # their apps are not migrated back
    ids = [uuid.uuid4() for _ in range(3)]
    for event_id in ids:
        Interaction.objects.create(
            event_id=event_id, type="play", member_id=member.pk, title_id=title.pk, occurred_at=WHEN
        )

    new = migrate(latest("events"))
    Interaction = new.get_model("events", "Interaction")
    assert sorted(Interaction.objects.values_list("event_id", flat=True)) == sorted(ids)
    other = MemberFactory()
    Interaction.objects.create(  # another member may use the same id now
        event_id=ids[0], type="play", member_id=other.pk, title_id=title.pk, occurred_at=WHEN
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.create(
            event_id=ids[0], type="play", member_id=member.pk, title_id=title.pk, occurred_at=WHEN
        )


def test_versions_keep_the_run_that_trained_them():
    old = migrate(("modeling", "0001_initial"))
    ModelVersion = old.get_model("modeling", "ModelVersion")
    RetrainRun = old.get_model("modeling", "RetrainRun")
    PromotionDecision = old.get_model("modeling", "PromotionDecision")
    fields = {"checkpoint": "x", "trained_as_of": WHEN, "n_train_events": 9}
    runs = [RetrainRun.objects.create(status="succeeded") for _ in range(2)]
    versions = {
        (run.pk, kind): ModelVersion.objects.create(kind=kind, **fields)
        for run in runs
        for kind in ("popularity", "mf")
    }
    for (run_id, _kind), version in versions.items():
        RetrainRun.objects.get(pk=run_id).candidates.add(version)
        PromotionDecision.objects.create(
            candidate=version, promoted=False, metric="ndcg@10", candidate_value=0.5, reason="r"
        )
    loose = ModelVersion.objects.create(kind="ease", **fields)  # registered outside any run

    new = migrate(latest("modeling"))
    ModelVersion = new.get_model("modeling", "ModelVersion")
    RetrainRun = new.get_model("modeling", "RetrainRun")
    for (run_id, kind), version in versions.items():
        assert ModelVersion.objects.get(pk=version.pk).run_id == run_id
        assert RetrainRun.objects.get(pk=run_id).candidates.filter(kind=kind).count() == 1
    assert ModelVersion.objects.get(pk=loose.pk).run_id is None
    assert RetrainRun.objects.get(pk=runs[0].pk).attempts == 0
    assert new.get_model("modeling", "PromotionDecision").objects.count() == 4


def test_pages_and_impressions_logged_before_the_explorer_read_as_deterministic():
    old = migrate(("events", "0002_event_id_scoped_to_its_client"))
    PageView = old.get_model("events", "PageView")
    Impression = old.get_model("events", "Impression")
    member, title = MemberFactory(), TitleFactory()
    page = PageView.objects.create(member_id=member.pk, served_at=WHEN)
    Impression.objects.create(
        page=page,
        member_id=member.pk,
        served_at=WHEN,
        row_key="top_picks",
        row_index=0,
        position=0,
        title_id=title.pk,
        policy="model:mf:v1",
        propensity=1.0,
    )

    new = migrate(latest("events"))
    page = new.get_model("events", "PageView").objects.get(pk=page.pk)
    assert (page.row_order_policy, page.row_order_probability, page.exploration) == ("", 1.0, {})
    assert page.logged_at is not None
    fact = new.get_model("events", "Impression").objects.get(page=page)
    assert (fact.policy, fact.propensity, fact.explored, fact.bandit_state_id) == (
        "model:mf:v1",
        1.0,
        False,
        None,
    )
    assert (fact.artwork, fact.artwork_propensity, fact.artwork_policy) == (0, 1.0, "")


def test_impressions_move_into_their_pages_records_and_the_watermarks_with_them():
    """Migration events 0008: every impression logged as a row of its own is moved into its
    page's record, in the order it was written, with every value; the view gives it a new
    id, and each watermark (a use's, a state's, a run's) moves so that the impressions at or
    below it are the same ones as before: none is counted twice or left out. Backwards, the
    table comes back with the same impressions under the view's ids."""
    old = migrate(("events", "0007_page_planned_at"))
    PageView = old.get_model("events", "PageView")
    Impression = old.get_model("events", "Impression")
    Watermark = old.get_model("exploration", "Watermark")
    BanditState = old.get_model("exploration", "BanditState")
    UpdateRun = old.get_model("exploration", "UpdateRun")
    member, titles = MemberFactory(), TitleFactory.create_batch(3)
    pages = [PageView.objects.create(member_id=member.pk, served_at=WHEN) for _ in range(3)]
    state = BanditState.objects.create(use="slots", version=1, policy="p", config={}, state=b"")
    old_id = 100
    for page in pages:
        for position, title in enumerate(titles):
            old_id += 1
            Impression.objects.create(
                id=old_id,
                page_id=page.pk,
                member_id=member.pk,
                served_at=WHEN,
                row_key="top_picks",
                row_index=0,
                position=position,
                title_id=title.pk,
                policy="thompson@v1" if position else "model:ease:v2",
                propensity=0.1 + position / 10,
                explored=bool(position),
                bandit_state_id=state.pk if position else None,
                features={"score": position / 3, "note": 'tab\t"quote"'},
                bandit_inputs={"context": [1.0, position]},
                artwork=position,
            )
    facts = (
        "page_id",
        "row_index",
        "position",
        "title_id",
        "policy",
        "propensity",
        "explored",
        "bandit_state_id",
        "features",
        "bandit_inputs",
        "artwork",
        "artwork_propensity",
    )

    def below(model, mark):
        return set(model.objects.filter(id__lte=mark).values_list(*facts[:3]))

    def every(model):
        return sorted(
            (str(row[0]), *row[1:])
            for row in model.objects.values_list(*facts[:8], "artwork", "artwork_propensity")
        ), sorted(str(f) for f in model.objects.values_list("features", "bandit_inputs"))

    before = every(Impression)
    marks = {"slots": 105, "row_order": 109, "artwork": 0}  # mid-page, last, none
    for use, mark in marks.items():
        Watermark.objects.update_or_create(use=use, defaults={"impression_id": mark})
    BanditState.objects.filter(pk=state.pk).update(watermark=103)
    run = UpdateRun.objects.create(
        status="succeeded", counts={"slots": {"watermark_before": 103, "watermark_after": 105}}
    )
    counted = {mark: below(Impression, mark) for mark in (0, 103, 105, 109)}

    new = migrate(latest("events"))
    Impression = new.get_model("events", "Impression")
    assert every(Impression) == before
    assert new.get_model("events", "PageImpressions").objects.count() == 3
    order = list(Impression.objects.order_by("id").values_list("page_id", "position"))
    assert order == [(p.pk, n) for p in pages for n in range(3)]  # as they were written
    moved = {
        w.use: w.impression_id for w in new.get_model("exploration", "Watermark").objects.all()
    }
    for use, mark in marks.items():
        assert below(Impression, moved[use]) == counted[mark], use
    assert moved["artwork"] == 0
    state = new.get_model("exploration", "BanditState").objects.get(pk=state.pk)
    assert below(Impression, state.watermark) == counted[103]
    counts = new.get_model("exploration", "UpdateRun").objects.get(pk=run.pk).counts["slots"]
    assert below(Impression, counts["watermark_before"]) == counted[103]
    assert below(Impression, counts["watermark_after"]) == counted[105]
    ids = sorted(Impression.objects.values_list("id", flat=True))

    back = migrate(("events", "0007_page_planned_at"))
    Impression = back.get_model("events", "Impression")
    assert every(Impression) == before
    assert sorted(Impression.objects.values_list("id", flat=True)) == ids
