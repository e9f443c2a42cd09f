"""Compute ahead the plans of recent members, in this process (a worker runs the same service
from homepage.tasks after a promotion)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from homepage.services import plans_warm


def _positive(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"{name} {text!r} is not a whole number") from None
    if value < 1:
        raise CommandError(f"{name} {text!r} must be at least 1")
    return value


class Command(BaseCommand):
    help = (
        "Compute and keep the homepage plans of the members served a page in the last "
        "--seconds (each device they used, the most recent first), so their next pages are "
        "served from a plan. Useful with a shared plan store (HOMEPAGE_PLAN_CACHE_URL): "
        "without one, the plans stay in this process."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seconds",
            default=None,
            help="how far back a member counts as recent (default HOMEPAGE_PLAN_WARM_SECONDS)",
        )
        parser.add_argument("--limit", default=None, help="at most this many members and devices")

    def handle(self, *args, **options):
        if settings.HOMEPAGE_PLAN_SECONDS <= 0:
            raise CommandError("plans are off (HOMEPAGE_PLAN_SECONDS is 0): nothing to warm")
        seconds = (
            settings.HOMEPAGE_PLAN_WARM_SECONDS
            if options["seconds"] is None
            else _positive(options["seconds"], "--seconds")
        )
        if seconds <= 0:
            raise CommandError("HOMEPAGE_PLAN_WARM_SECONDS is 0: give --seconds")
        limit = None if options["limit"] is None else _positive(options["limit"], "--limit")
        if not settings.HOMEPAGE_PLAN_CACHE:
            self.stderr.write(
                "no shared plan store (HOMEPAGE_PLAN_CACHE_URL): the plans stay in this process"
            )
        warmed = plans_warm(since=timezone.now() - timedelta(seconds=seconds), limit=limit)
        self.stdout.write(
            f"plans of {warmed.looked_at} members and devices: {warmed.computed} computed, "
            f"{warmed.current} current already, {warmed.open} open (an explorer is on: each "
            f"page draws its own), in {warmed.seconds:.1f} s"
        )
