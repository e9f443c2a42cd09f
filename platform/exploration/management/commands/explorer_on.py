"""Turn the explorer on with its default configs (what `make demo` does)."""

from django.core.management.base import BaseCommand

from exploration.services import explorer_defaults_install


class Command(BaseCommand):
    help = (
        "Give every explorer use without a config the default one (enabled, a modest rate); "
        "uses configured already are left as they are."
    )

    def handle(self, *args, **options):
        for config in explorer_defaults_install(enabled=True):
            self.stdout.write(f"  {config}")
