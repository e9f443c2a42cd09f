"""Seeding the platform from a simulator world folder (observable files only)."""

import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Title
from members.models import Member
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("world")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator.world",
            "--out",
            str(path),
            "--titles",
            "40",
            "--members",
            "10",
            "--seed",
            "5",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return path


def test_seed_loads_titles_members_and_demo_account_and_is_idempotent(world):
    call_command("seed_world", str(world), "--demo-password", "demo-password")
    catalog = json.loads((world / "catalog.json").read_text())
    assert Title.objects.count() == len(catalog["titles"]) == 40
    first = catalog["titles"][0]
    title = Title.objects.get(external_id=first["external_id"])
    assert sorted(g.name for g in title.genres.all()) == sorted(first["genres"])
    assert Member.objects.exclude(account__username="demo").count() == 10
    demo = Member.objects.filter(account__username="demo")
    assert demo.count() == 3 and demo.filter(is_kids=True).count() == 1

    call_command("seed_world", str(world), "--demo-password", "demo-password")
    assert Title.objects.count() == 40 and Member.objects.count() == 13


def test_seed_from_a_folder_without_world_files_names_it(tmp_path):
    with pytest.raises(CommandError, match="catalog.json not found"):
        call_command("seed_world", str(tmp_path))


def test_a_bad_title_stores_nothing(world, tmp_path):
    catalog = json.loads((world / "catalog.json").read_text())
    catalog["titles"][5]["release_date"] = "last spring"
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    (tmp_path / "members.json").write_text((world / "members.json").read_text())
    with pytest.raises(CommandError, match="release_date 'last spring' is not YYYY-MM-DD"):
        call_command("seed_world", str(tmp_path))
    assert not Title.objects.exists() and not Member.objects.exists()
