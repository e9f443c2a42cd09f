"""Celery tasks of the modeling app: thin shells around services."""

import logging

from celery import current_app, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from kombu.exceptions import OperationalError as BrokerOperationalError

from . import embeddings, services

logger = logging.getLogger(__name__)

DB_RETRY_SECONDS = 10
DB_MAX_RETRIES = 30


@shared_task(
    name="modeling.tasks.retrain",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=DB_MAX_RETRIES,
)
def retrain(self, run_id: int | None = None) -> dict:
    """Retrain and gate. Beat calls it with no run id; the API creates the run first.

    Delivered at least once: the message is acknowledged when the task ends, and requeued
    if the worker process dies, so a killed worker's run is resumed by the next one
    (services.retrain_execute is idempotent). If the database goes away mid-run, the
    connections are dropped and the task retries with the same run until it is back.
    """
    try:
        if run_id is None:
            run_id = services.retrain_run_create(trigger="schedule").pk
        run = services.retrain_execute(run_id=run_id)
    except (OperationalError, InterfaceError) as exc:
        logger.warning("Retrain run %s lost the database (%s); retrying", run_id, exc)
        connections.close_all()
        raise self.retry(args=[run_id], exc=exc, countdown=DB_RETRY_SECONDS) from exc
    logger.info("Retrain run %s %s", run.pk, run.status)
    if run.promoted_id is not None:
        embeddings_enqueue(version_id=run.promoted_id)
    if run.status == run.Status.SUCCEEDED:
        # a promotion, or a canary started, changes what every member's page is served from
        plans_warm_enqueue()
    return {"run_id": run.pk, "status": run.status, "promoted": run.promoted_id}


@shared_task(
    name="modeling.tasks.embeddings_store",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=DB_MAX_RETRIES,
)
def embeddings_store(self, version_id: int) -> dict:
    """Store a promoted version's title and member embeddings (modeling.embeddings).

    Idempotent (a version's set is written once, whole), so a redelivery is harmless; a lost
    database is retried as the retrain task retries it."""
    try:
        embedding_set = embeddings.embeddings_store(version_id=version_id)
    except (OperationalError, InterfaceError) as exc:
        connections.close_all()
        raise self.retry(args=[version_id], exc=exc, countdown=DB_RETRY_SECONDS) from exc
    return {"version": version_id, "method": embedding_set.method, "set": embedding_set.pk}


def embeddings_enqueue(*, version_id: int) -> bool:
    """Queue the embedding job of a newly promoted version; False (logged) if the broker is
    down. Serving does not need the vectors: "More like this" falls back until they exist."""
    try:
        embeddings_store.apply_async(args=[version_id], retry=False)
    except BrokerOperationalError as exc:
        logger.warning("Embeddings of v%s not queued, the broker is down: %s", version_id, exc)
        return False
    return True


PLANS_WARM_TASK = "homepage.tasks.plans_warm"


def plans_warm_enqueue() -> bool:
    """After a retrain or a canary's ship, queue the homepage's warming of the members'
    plans (by name: the homepage serves the models, the models do not import it), when there
    is a shared plan store for a worker to warm; the warming computes only the plans whose
    key changed. False: not queued (no store, or the broker is down, logged; the members'
    pages are then computed on their next requests, as without it)."""
    if not settings.HOMEPAGE_PLAN_CACHE:
        return False
    try:
        current_app.send_task(PLANS_WARM_TASK, retry=False)
    except BrokerOperationalError as exc:
        logger.warning("Plans not queued for warming, the broker is down: %s", exc)
        return False
    return True


class BrokerUnavailable(Exception):
    """The task broker could not take the task."""


def retrain_enqueue(*, run_id: int) -> None:
    """Queue a retrain run now, failing fast if the broker is down.

    The run row is committed before this is called (requests run in autocommit), which is
    what delay_on_commit would wait for; calling apply_async directly lets the API tell the
    person at once that nothing was queued, instead of hanging on broker retries.
    """
    try:
        retrain.apply_async(args=[run_id], retry=False)
    except BrokerOperationalError as exc:
        raise BrokerUnavailable(f"The task broker is unreachable ({exc}).") from exc
