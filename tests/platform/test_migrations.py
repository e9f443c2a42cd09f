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
