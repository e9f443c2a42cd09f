"""Celery tasks of the modeling app: thin shells around services."""

import logging

from celery import shared_task

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
