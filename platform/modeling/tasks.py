"""Celery tasks of the modeling app: thin shells around services."""

import logging

from celery import shared_task
from kombu.exceptions import OperationalError

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="modeling.tasks.retrain")
def retrain(run_id: int | None = None) -> dict:
    """Retrain and gate. Beat calls it with no run id; the API creates the run first."""
    if run_id is None:
        run_id = services.retrain_run_create(trigger="schedule").pk
    run = services.retrain_execute(run_id=run_id)
    logger.info("Retrain run %s %s", run.pk, run.status)
    return {"run_id": run.pk, "status": run.status, "promoted": run.promoted_id}


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
    except OperationalError as exc:
        raise BrokerUnavailable(f"The task broker is unreachable ({exc}).") from exc
