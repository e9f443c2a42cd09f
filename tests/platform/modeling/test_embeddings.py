"""Stored embeddings: written after a promotion by the Celery task, read back exactly, aligned
from one version to the next, and used by "More like this" and the lab's similar members."""

import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from config import celery_app
from events.models import Interaction
from modeling import training
from modeling.embeddings import embedding_matrix, embeddings_store
from modeling.models import Embedding, EmbeddingSet, ModelVersion, RetrainRun
from modeling.ranking import checkpoint_path
from modeling.selectors import production_version
from modeling.tasks import retrain
from recommender.embeddings import drift, export_embeddings
from tests.platform.modeling.test_services import clustered_log
from tests.platform.rollouts.helpers import gate_canary, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    celery_app.conf.task_always_eager = True  # the tasks run in-process, on no queue
    yield
    celery_app.conf.task_always_eager = False


def more_plays(members, titles, *, seed=1, plays_each=4):
    """Plays in the last hour, in the same taste clusters: new facts for a second retrain."""
    rng = np.random.default_rng(seed)
    now = timezone.now()
    for m, member in enumerate(members):
        mine = [t for i, t in enumerate(titles) if i % 2 == m % 2]
        for _ in range(plays_each):
            Interaction.objects.create(
                event_id=uuid.uuid4(),
                type="play",
                member=member,
                title=mine[rng.integers(len(mine))],
                watched_seconds=3000,
                occurred_at=now - timedelta(minutes=float(rng.uniform(1, 50))),
            )


def stored(version, entity=Embedding.Entity.TITLE):
    return embedding_matrix(embedding_set=version.embedding_set, entity=entity)


def test_the_retrain_task_stores_the_promoted_versions_embeddings_exactly(eager):
    members, titles = clustered_log()
    result = retrain.apply().get()
    production = production_version()
    assert result["promoted"] == production.pk and production.kind == "mf"
    embedding_set = EmbeddingSet.objects.get(version=production)  # written by the task
    assert (embedding_set.method, embedding_set.dim, embedding_set.aligned_to) == ("mf", 32, None)
    exported = export_embeddings(training.checkpoint_load(checkpoint_path(production)))
    keys, vectors = stored(production)
    assert keys.tolist() == sorted(int(i) for i in exported.item_ids) == [t.pk for t in titles]
    order = np.argsort([int(i) for i in exported.item_ids])
    np.testing.assert_array_equal(vectors, exported.items[order])  # float32, bit for bit
    member_keys, _ = stored(production, Embedding.Entity.MEMBER)
    assert member_keys.tolist() == [m.pk for m in members]
    assert embeddings_store(version_id=production.pk) == embedding_set  # stored once
    assert Embedding.objects.count() == len(titles) + len(members)
    with pytest.raises(ValueError, match="immutable"):
        embedding_set.save()


def test_stored_embeddings_stay_aligned_across_versions(eager, settings):
    members, titles = clustered_log()
    retrain.apply().get()
    first = production_version()
    more_plays(members, titles)
    settings.MODELING_SEED = 1  # a refit that lands in another rotation of the space
    result = retrain.apply().get()
    assert result["promoted"] is None  # it goes to a canary first; say it ships:
    second = ship(gate_canary(RetrainRun.objects.get(pk=result["run_id"]))).candidate
    assert production_version() == second
    embeddings_store(version_id=second.pk)  # as the readouts task queues it on a ship
    assert second.pk > first.pk and second.kind == "mf"
    embedding_set = second.embedding_set
    assert embedding_set.aligned_to == first and embedding_set.shared_titles == len(titles)
    keys1, old = stored(first)
    keys2, new = stored(second)
    assert keys1.tolist() == keys2.tolist()
    raw = export_embeddings(training.checkpoint_load(checkpoint_path(second)))
    raw_items = raw.items[np.argsort([int(i) for i in raw.item_ids])]
    unaligned, aligned = drift(raw_items, old), drift(new, old)
    assert aligned == pytest.approx(embedding_set.drift_after_align, rel=1e-3)
    assert unaligned == pytest.approx(embedding_set.drift_before_align, rel=1e-3)
    assert aligned < 0.6 * unaligned, (unaligned, aligned)


def test_a_kind_without_embeddings_stores_a_set_that_says_so(eager):
    clustered_log()
    retrain.apply().get()
    popularity = ModelVersion.objects.get(kind="popularity")
    embedding_set = embeddings_store(version_id=popularity.pk)
    assert embedding_set.method == "none" and "no per-title vector" in embedding_set.note
    assert not embedding_set.vectors.exists()


def test_a_promoted_sasrec_stores_its_item_table_and_member_states(eager, settings):
    settings.MODELING_CANDIDATES = ["sasrec"]
    members, titles = clustered_log()
    retrain.apply().get()
    production = production_version()
    assert production.kind == "sasrec"
    embedding_set = production.embedding_set
    assert (embedding_set.method, embedding_set.dim) == ("sasrec", 32)
    keys, vectors = stored(production)
    assert keys.tolist() == [t.pk for t in titles] and np.isfinite(vectors).all()
    member_keys, _ = stored(production, Embedding.Entity.MEMBER)
    assert member_keys.tolist() == [m.pk for m in members]


def test_the_retrain_command_stores_the_embeddings_in_process():
    from io import StringIO

    from django.core.management import call_command

    clustered_log()
    out = StringIO()
    call_command("retrain", stdout=out)
    production = production_version()
    assert production.embedding_set.method == "mf"
    assert f"embeddings of v{production.pk}" in out.getvalue()
