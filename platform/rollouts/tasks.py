"""Celery tasks of the online experiments: thin shells around services."""

import logging

from celery import shared_task
from kombu.exceptions import OperationalError as BrokerOperationalError

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="rollouts.tasks.readouts", acks_late=True, reject_on_worker_lost=True)
def readouts(experiment_id: int | None = None) -> dict:
    """Read out every whole simulated day not read out yet, of one experiment or (beat) of
    every running one, and take the canaries' steps. Idempotent: a redelivery or a second
    worker writes nothing twice (services.readouts_compute). A canary that ships a model
    version queues that version's embeddings and the warming of the members' plans, as a
    promotion by the gate does."""
    if experiment_id is None:
        written = services.readouts_all()
    else:
        written = {experiment_id: len(services.readouts_compute(experiment_id=experiment_id))}
    shipped = services.shipped_versions(experiment_ids=list(written))
    if shipped:
        from modeling.tasks import embeddings_enqueue, plans_warm_enqueue

        for version_id in shipped:
            embeddings_enqueue(version_id=version_id)
        plans_warm_enqueue()
    logger.info("Readouts written per experiment: %s", written)
    return {"written": {str(k): v for k, v in written.items()}}


class BrokerUnavailable(Exception):
    """The task broker could not take the task."""


def readouts_enqueue(*, experiment_id: int) -> None:
    """Queue one experiment's readouts now, failing fast if the broker is down."""
    try:
        readouts.apply_async(args=[experiment_id], retry=False)
    except BrokerOperationalError as exc:
        raise BrokerUnavailable(f"The task broker is unreachable ({exc}).") from exc
