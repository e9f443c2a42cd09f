"""Celery tasks of the lab: thin shells around services."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


# acks_late off: a run lasts up to hours, longer than a broker's redelivery timeout; a run
# whose worker dies is noticed by its silent heartbeat instead (selectors.traffic_is_stale).
@shared_task(name="lab.tasks.traffic", acks_late=False)
def traffic(run_id: int) -> dict:
    """Drive simulated members for a traffic run; started by the lab, on its own queue."""
    run = services.traffic_execute(run_id=run_id)
    logger.info("Traffic run %s %s: %s visits", run.pk, run.status, run.visits)
    return {"run_id": run.pk, "status": run.status, "visits": run.visits}
