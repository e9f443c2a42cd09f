"""Celery tasks of the homepage: thin shells around services."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="homepage.tasks.plans_warm", acks_late=True, reject_on_worker_lost=True)
def plans_warm() -> dict:
    """Compute ahead the plans of the members served in the last HOMEPAGE_PLAN_WARM_SECONDS,
    into the shared plan store (services.plans_warm). The retrain task queues it, by name,
    after every retrain that succeeded, and the readouts task after a canary ships. Without a shared store a worker's plans would serve no web process,
    so it does nothing; a redelivery computes only what is not kept already."""
    if not (
        settings.HOMEPAGE_PLAN_CACHE
        and settings.HOMEPAGE_PLAN_SECONDS > 0
        and settings.HOMEPAGE_PLAN_WARM_SECONDS > 0
    ):
        return {"skipped": "no shared plan store (HOMEPAGE_PLAN_CACHE_URL), or plans off"}
    since = timezone.now() - timedelta(seconds=settings.HOMEPAGE_PLAN_WARM_SECONDS)
    warmed = services.plans_warm(since=since)
    logger.info(
        "Plans warmed: %d computed, %d current, %d open (an explorer on), in %.1f s",
        warmed.computed,
        warmed.current,
        warmed.open,
        warmed.seconds,
    )
    return {**warmed._asdict(), "seconds": round(warmed.seconds, 3)}
