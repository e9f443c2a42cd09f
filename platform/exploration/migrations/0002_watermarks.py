"""One watermark row per use, so an update only ever locks an existing row (two updates
creating the same row at once would collide instead of waiting for each other)."""

from django.db import migrations

USES = ("slots", "row_order", "artwork")


def create(apps, schema_editor):
    Watermark = apps.get_model("exploration", "Watermark")
    for use in USES:
        Watermark.objects.get_or_create(use=use)


class Migration(migrations.Migration):
    dependencies = [("exploration", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
