"""The serving stamps: one query a page tells whether this process's production model, gate
evidence and explorers are current; each change serves from the next page on."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exploration.models import BanditState
from exploration.services import explorer_config_set
from exploration.serving import explorers_current
from homepage.context import page_context_build
from homepage.services import homepage_build, serving_stamps
from modeling.models import ModelVersion, PromotionDecision
from modeling.selectors import gate_decisions, serving_version_for
from tests.factories import NOW, MemberFactory, TitleFactory

pytestmark = pytest.mark.django_db


def version(kind: str = "popularity") -> ModelVersion:
    return ModelVersion.objects.create(
        kind=kind, checkpoint="unused", trained_as_of=NOW, n_train_events=1
    )


def decide(candidate: ModelVersion, promoted: bool) -> PromotionDecision:
    return PromotionDecision.objects.create(
        candidate=candidate, promoted=promoted, metric="ndcg", candidate_value=0.1, reason="test"
    )


def test_production_and_its_gate_evidence_are_read_again_after_each_decision():
    member = MemberFactory()
    first = version()
    decide(first, promoted=True)
    stamp = serving_stamps()[1]
    assert serving_version_for(member=member, assigned={}, stamp=stamp) == first
    assert [d.candidate for d in gate_decisions(version=first, stamp=stamp)] == [first]
    with CaptureQueriesContext(connection) as captured:
        assert serving_version_for(member=member, assigned={}, stamp=stamp) == first
        assert len(gate_decisions(version=first, stamp=stamp)) == 1
    assert len(captured) == 0

    second = version("mf")
    decide(second, promoted=True)  # a promotion
    stamp = serving_stamps()[1]
    assert serving_version_for(member=member, assigned={}, stamp=stamp) == second
    assert [d.candidate for d in gate_decisions(version=second, stamp=stamp)] == [second]

    later = decide(second, promoted=False)  # a later verdict on the serving version
    stamp = serving_stamps()[1]
    assert later in gate_decisions(version=second, stamp=stamp)
    assert serving_version_for(member=member, assigned={}, stamp=stamp) == second


def test_explorers_are_read_again_after_a_config_change_or_a_new_state():
    config = explorer_config_set(use="slots", enabled=True, policy="epsilon_greedy", rate=0.1)
    stamp = serving_stamps()[2]
    first = explorers_current(stamp=stamp)
    assert set(first) == {"slots"} and first["slots"].state is None
    with CaptureQueriesContext(connection) as captured:
        assert explorers_current(stamp=stamp) is first
    assert len(captured) == 0

    # A new state (of another policy, so not loaded): the explorer is built again.
    BanditState.objects.create(use="slots", version=1, policy="other", config={}, state=b"")
    assert serving_stamps()[2] != stamp
    assert explorers_current(stamp=serving_stamps()[2])["slots"] is not first["slots"]

    explorer_config_set(use="slots", enabled=False, policy=config.policy, rate=config.rate)
    assert explorers_current(stamp=serving_stamps()[2]) == {}  # turned off: the next page


def test_a_page_reads_the_serving_stamps_in_one_query_and_nothing_else_of_them():
    member = MemberFactory()
    TitleFactory.create_batch(5)
    decide(version(), promoted=True)
    explorer_config_set(use="artwork", enabled=True, policy="linucb", rate=0.1, floor=0.025)
    homepage_build(member=member, at=NOW)
    with CaptureQueriesContext(connection) as captured:
        page = homepage_build(member=member, at=NOW)
    sql = [q["sql"] for q in captured]
    stamps = [q for q in sql if "rollouts_experiment" in q]
    assert len(stamps) == 1 and "modeling_promotiondecision" in stamps[0]
    assert not [q for q in sql if "exploration_explorerconfig" in q and q not in stamps]
    assert not [q for q in sql if "modeling_promotiondecision" in q and q not in stamps]
    assert page.page.pk


def test_the_catalogue_snapshot_is_read_again_when_a_title_is_added_or_changed():
    member = MemberFactory()
    first = TitleFactory()
    ctx = page_context_build(member=member, at=NOW, catalogue=serving_stamps()[3])
    assert set(ctx.titles) == {first.pk}
    added = TitleFactory()
    ctx = page_context_build(member=member, at=NOW, catalogue=serving_stamps()[3])
    assert set(ctx.titles) == {first.pk, added.pk}
    added.name = "Renamed"
    added.save()
    ctx = page_context_build(member=member, at=NOW, catalogue=serving_stamps()[3])
    assert ctx.titles[added.pk].name == "Renamed"


def test_on_postgresql_the_stamps_of_every_member_are_one_prepared_statement():
    """A page from a plan runs the same few queries every time, and PostgreSQL took longer
    to plan them than to run them (docs/benchmarks.md, "Prepared statements"): the stamps'
    query is one text for every member, the member's id its parameter, so a connection
    prepares it once (config.settings.base: server-side binding, prepare_threshold)."""
    from tests.conftest import skip_or_fail

    if connection.vendor != "postgresql":
        skip_or_fail("prepared statements are PostgreSQL's; DATABASE_URL=postgres://...")
    members = MemberFactory.create_batch(7)
    stamps = [serving_stamps(member_id=m.pk) for m in members]
    assert all(s.member == (None, 0, 0, None) for s in stamps)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%members_mylistentry%"],
        )
        assert cursor.fetchone()[0] == 1
