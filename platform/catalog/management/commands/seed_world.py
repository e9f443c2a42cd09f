"""Seed the catalogue and accounts from a simulator world folder (catalog.json, members.json).

Only the observable files are read; the simulator's hidden.npz never reaches the platform.
With --demo-password the staff account 'demo' is made too: with the default profiles, or, when
the world holds an account named 'demo' (`make demo` adopts a simulated household, so the
demo's profiles have viewing histories of their own), that account made staff.
"""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog.services import catalog_import
from members.models import Member
from members.services import accounts_import, demo_account_ensure

DEMO_PROFILES = [("Ann", False), ("Ben", False), ("Kids", True)]


class Command(BaseCommand):
    help = "Load a simulator world's catalog.json and members.json (and a demo account)."

    def add_arguments(self, parser):
        parser.add_argument(
            "world", type=Path, help="folder written by `python -m simulator.world`"
        )
        parser.add_argument(
            "--demo-password",
            default=None,
            help="also make the staff account 'demo' with this password",
        )

    def handle(self, *args, world: Path, demo_password: str | None, **options):
        files = {name: world / f"{name}.json" for name in ("catalog", "members")}
        for path in files.values():
            if not path.is_file():
                raise CommandError(
                    f"{path} not found: is {world} a folder written by simulator.world?"
                )
        try:
            catalog = json.loads(files["catalog"].read_text())
            members = json.loads(files["members"].read_text())
        except json.JSONDecodeError as exc:
            raise CommandError(f"Invalid JSON in {world}: {exc}") from None
        try:
            with transaction.atomic():
                created, updated = catalog_import(titles=catalog["titles"])
                n_accounts, n_members = accounts_import(accounts=members["accounts"])
                if demo_password:
                    demo_account_ensure(
                        username="demo", password=demo_password, profiles=DEMO_PROFILES
                    )
        except (KeyError, ValidationError) as exc:
            raise CommandError(f"Could not seed from {world}: {exc}") from None
        self.stdout.write(
            f"titles: {created} created, {updated} updated; accounts: {n_accounts} created, "
            f"{n_members} profiles; {Member.objects.count()} profiles in all"
        )
