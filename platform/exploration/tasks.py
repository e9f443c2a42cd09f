"""Celery tasks of the explorer: thin shells around services."""

import logging

from celery import shared_task
from kombu.exceptions import OperationalError as BrokerOperationalError

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="exploration.tasks.update", acks_late=True, reject_on_worker_lost=True)
def update(run_id: int | None = None) -> dict:
    """Learn every use's bandit from the rewards logged since its watermark. Beat calls it
    with no run id; the API creates the run first. Delivered at least once: the watermark
    makes a redelivery count nothing twice (services.update_execute)."""
    if run_id is None:
        run_id = services.update_run_create(trigger="schedule").pk
    run = services.update_execute(run_id=run_id)
    logger.info("Exploration update run %s %s %s", run.pk, run.status, run.counts or run.error)
    return {"run_id": run.pk, "status": run.status}


class BrokerUnavailable(Exception):
    """The task broker could not take the task."""


def update_enqueue(*, run_id: int) -> None:
    """Queue an update run now, failing fast if the broker is down (as retrain_enqueue)."""
    try:
        update.apply_async(args=[run_id], retry=False)
    except BrokerOperationalError as exc:
        raise BrokerUnavailable(f"The task broker is unreachable ({exc}).") from exc
