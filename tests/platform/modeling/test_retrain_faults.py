"""A retrain survives faults: a model that cannot serve is never promoted, a run whose worker
died resumes without registering a kind twice, and one retrain runs at a time.

The processes-and-signals half (kill -9 of a real worker, a real broker and database going
away) is tests/e2e/test_faults.py; these pin down the service's rules on one process.
"""

import dataclasses
import fcntl
from pathlib import Path

import numpy as np
import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from modeling import services, training
from modeling.locks import RETRAIN_LOCK_KEY, RUN_LOCK_KEY
from modeling.models import ModelVersion, RetrainRun
from modeling.selectors import production_version
from modeling.services import retrain_execute, retrain_run_create
from recommender import MODELS
from recommender.mf import MFConfig, MFRecommender
from tests.platform.modeling.test_services import add_recent_plays, clustered_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def model_kind():
    """Register model kinds for one test: real models with a real flaw."""
    added = []

    def register(cls):
        added.append(cls.kind)
        return cls

    yield register
    for kind in added:
        MODELS.pop(kind, None)


@pytest.fixture
def diverging_mf(model_kind):
    """Matrix factorisation with a learning rate far too high: its fit diverges, and the
    members it learned get NaN scores (the prior for members it never saw stays finite)."""

    @dataclasses.dataclass
    class DivergingConfig(MFConfig):
        lr: float = 1e3

    @model_kind
    class DivergingMF(MFRecommender):
        kind = "mf_diverging"
        config_class = DivergingConfig

    return DivergingMF


@pytest.fixture
def unloadable_mf(model_kind):
    """Matrix factorisation that saves a numpy array among its tensors: torch writes it, and
    the safe loader (weights_only=True) refuses to read it back, as a web process would."""

    @model_kind
    class UnloadableMF(MFRecommender):
        kind = "mf_unloadable"

        def _state_dict(self):
            return {**super()._state_dict(), "note": np.zeros(3)}

    return UnloadableMF


def gate(settings, *kinds):
    settings.MODELING_CANDIDATES = list(kinds)
    return retrain_execute(run_id=retrain_run_create(trigger="test").pk)


def test_a_candidate_with_nan_scores_is_never_promoted_even_with_nothing_in_production(
    settings, diverging_mf
):
    clustered_log()
    run = gate(settings, "mf_diverging")
    assert run.status == RetrainRun.Status.SUCCEEDED, run.error
    version = run.candidates.get()
    assert version.decision.promoted is False
    assert "scores are not finite" in version.decision.reason
    assert production_version() is None and run.promoted is None


def test_a_nan_candidate_beside_a_sound_one_leaves_production_to_the_sound_one(
    settings, diverging_mf
):
    clustered_log()
    run = gate(settings, "popularity", "mf_diverging")
    kinds = {v.kind: v.decision for v in run.candidates.all()}
    assert kinds["popularity"].promoted and not kinds["mf_diverging"].promoted
    assert production_version().kind == "popularity"


def test_a_checkpoint_that_does_not_load_back_is_never_promoted(settings, unloadable_mf):
    members, titles = clustered_log()
    first = gate(settings, "popularity")
    good = production_version()
    assert good == first.promoted
    add_recent_plays(members, titles)
    run = gate(settings, "mf_unloadable")
    assert run.status == RetrainRun.Status.SUCCEEDED, run.error
    decision = run.candidates.get().decision
    assert decision.promoted is False and "checkpoint does not load" in decision.reason
    assert production_version() == good  # the previous model keeps serving


def test_the_gate_would_have_promoted_them_without_the_serving_checks(
    settings, diverging_mf, monkeypatch
):
    """The broken variant: with the checks off, the NaN model goes to production."""
    clustered_log()
    monkeypatch.setattr(services, "_score_problem", lambda model, split: None)
    monkeypatch.setattr(services, "_served_problem", lambda version, split: None)
    run = gate(settings, "mf_diverging")
    assert run.promoted is not None and production_version().kind == "mf_diverging"


class WorkerKilled(BaseException):
    """What the process sees of kill -9: nothing after this point runs, no except clause."""


def test_a_run_whose_worker_died_resumes_and_registers_each_kind_once(settings, monkeypatch):
    clustered_log()
    settings.MODELING_CANDIDATES = ["popularity", "mf"]
    run = retrain_run_create(trigger="test")
    fit = training.candidate_fit

    def dies_on_mf(kind, *args, **kwargs):
        if kind == "mf":
            raise WorkerKilled
        return fit(kind, *args, **kwargs)

    monkeypatch.setattr(training, "candidate_fit", dies_on_mf)
    with pytest.raises(WorkerKilled):
        retrain_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RetrainRun.Status.RUNNING and run.attempts == 1
    popularity = run.candidates.get()
    as_of = run.as_of

    monkeypatch.setattr(training, "candidate_fit", fit)  # the task is delivered again
    run = retrain_execute(run_id=run.pk)
    assert run.status == RetrainRun.Status.SUCCEEDED, run.error
    assert run.attempts == 2 and run.as_of == as_of
    by_kind = {v.kind: v for v in run.candidates.all()}
    assert sorted(by_kind) == ["mf", "popularity"] and by_kind["popularity"] == popularity
    assert ModelVersion.objects.count() == 2
    assert by_kind["mf"].decision.baseline == popularity  # the chain of decisions goes on
    assert retrain_execute(run_id=run.pk).candidates.count() == 2  # a late redelivery: no-op


def test_the_database_refuses_a_second_version_of_a_kind_for_one_run():
    run = retrain_run_create(trigger="test")
    fields = {"checkpoint": "x", "trained_as_of": timezone.now(), "n_train_events": 1}
    ModelVersion.objects.create(run=run, kind="mf", **fields)
    with pytest.raises(IntegrityError):
        ModelVersion.objects.create(run=run, kind="mf", **fields)


def test_a_run_lost_again_and_again_is_given_up():
    run = retrain_run_create(trigger="test")
    RetrainRun.objects.filter(pk=run.pk).update(
        status=RetrainRun.Status.RUNNING, attempts=services.MAX_ATTEMPTS
    )
    run = retrain_execute(run_id=run.pk)
    assert run.status == RetrainRun.Status.FAILED and "given up" in run.error


def test_a_run_left_running_by_a_lost_worker_is_closed_when_another_starts(settings):
    lost = retrain_run_create(trigger="test")
    RetrainRun.objects.filter(pk=lost.pk).update(status=RetrainRun.Status.RUNNING, attempts=1)
    new = retrain_execute(run_id=retrain_run_create(trigger="test").pk)
    lost.refresh_from_db()
    assert lost.status == RetrainRun.Status.FAILED
    assert f"run {new.pk} started after it" in lost.error


@pytest.fixture
def hold_elsewhere(settings):
    """Take a lock (key, number) in another database session, or through another open file
    on SQLite (flocks of two open files conflict as two processes' would)."""
    held = []

    def hold(key: int, number: int) -> None:
        if connection.vendor == "postgresql":
            import psycopg

            db = connection.settings_dict
            other = psycopg.connect(
                host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                password=db["PASSWORD"], dbname=db["NAME"], autocommit=True,
            )  # fmt: skip
            other.execute("SELECT pg_advisory_lock(%s, %s)", [key, number])
        else:
            path = Path(settings.MODEL_DIR) / f".lock-{key:x}-{number}"
            path.parent.mkdir(parents=True, exist_ok=True)
            other = path.open("a")
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.append(other)

    yield hold
    for other in held:
        other.close()


def test_while_another_run_retrains_a_queued_run_is_refused(hold_elsewhere):
    busy = retrain_run_create(trigger="test")
    RetrainRun.objects.filter(pk=busy.pk).update(status=RetrainRun.Status.RUNNING)
    hold_elsewhere(RETRAIN_LOCK_KEY, 0)
    queued = retrain_execute(run_id=retrain_run_create(trigger="test").pk)
    assert queued.status == RetrainRun.Status.FAILED
    assert f"run {busy.pk} was retraining at the same time" in queued.error
    assert not ModelVersion.objects.exists()


def test_a_second_delivery_of_a_run_being_worked_on_leaves_it_alone(hold_elsewhere):
    """The worker that took the run holds its lock, even before it has marked it running."""
    run = retrain_run_create(trigger="test")
    hold_elsewhere(RUN_LOCK_KEY, run.pk)
    again = retrain_execute(run_id=run.pk)
    assert again.status == RetrainRun.Status.QUEUED and again.attempts == 0
    assert not ModelVersion.objects.exists()
