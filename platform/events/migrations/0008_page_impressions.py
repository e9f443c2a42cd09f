"""A page's impressions become one row: `PageImpressions`, its slots as one JSON array.

`events_impression`, a table of one row per slot, becomes a view of the same name and
columns that unnests the records (one more column, `record`: the record's id). Every
impression already logged is moved into its page's record, in the order it was written,
and takes the id the view gives it (the record's id times 1024 plus its place): the
explorer's watermarks and the bandit states' are moved to the same ids, so each use still
counts every impression once. Backwards, the table is made again and filled from the
records, keeping the view's ids (the watermarks stay valid).
"""

import bisect
import itertools

import django.db.models.deletion
import orjson
from django.core.management.color import no_style
from django.db import migrations, models, transaction

import events.models

STRIDE = 1024  # events.models.SLOTS_PER_RECORD, as of this migration

# events.models.SLOT_FIELDS as of this migration, with each value's PostgreSQL type.
SLOTS = (
    ("row_key", "varchar(40)"),
    ("row_index", "smallint"),
    ("position", "smallint"),
    ("title_id", "bigint"),
    ("policy", "varchar(60)"),
    ("propensity", "double precision"),
    ("features", None),  # JSON: its text, which the model's JSONField decodes
    ("explored", "boolean"),
    ("bandit_state_id", "bigint"),
    ("estimated", "boolean"),
    ("draws", "integer"),
    ("bandit_inputs", None),
    ("artwork", "smallint"),
    ("artwork_propensity", "double precision"),
    ("artwork_policy", "varchar(60)"),
    ("artwork_state_id", "bigint"),
)
JSON_FIELDS = frozenset({"features", "bandit_inputs"})  # null in the old table reads as {}


def view_sql(vendor: str) -> str:
    page = "p.member_id, p.served_at, p.model_version_id"
    if vendor == "postgresql":
        cells = ", ".join(
            f"(s.v->>{n})::{kind} AS {name}" if kind else f"s.v->>{n} AS {name}"
            for n, (name, kind) in enumerate(SLOTS)
        )
        return (
            f"CREATE VIEW events_impression AS SELECT r.id * {STRIDE} + s.n - 1 AS id, "
            f"r.id AS record, r.page_id, {page}, {cells} "
            "FROM events_pageimpressions r JOIN events_pageview p ON p.page_id = r.page_id "
            "CROSS JOIN LATERAL json_array_elements(r.slots) WITH ORDINALITY AS s(v, n)"
        )
    cells = ", ".join(
        f"json_extract(s.value, '$[{n}]') AS {name}" for n, (name, _kind) in enumerate(SLOTS)
    )
    return (
        f"CREATE VIEW events_impression AS SELECT r.id * {STRIDE} + s.key AS id, "
        f"r.id AS record, r.page_id, {page}, {cells} "
        "FROM events_pageimpressions r JOIN events_pageview p ON p.page_id = r.page_id, "
        "json_each(r.slots) AS s"
    )


def _watermarks(apps):
    """Every stored impression id: the uses' watermarks, the states', the runs' counts."""
    return (
        list(apps.get_model("exploration", "Watermark").objects.all()),
        list(apps.get_model("exploration", "BanditState").objects.all()),
        list(apps.get_model("exploration", "UpdateRun").objects.all()),
    )


def _cell(name, value):
    return {} if value is None and name in JSON_FIELDS else value


def impressions_into_records(apps, schema_editor):
    Impression = apps.get_model("events", "Impression")
    Record = apps.get_model("events", "PageImpressions")
    marks, states, runs = _watermarks(apps)
    olds = sorted(
        {m.impression_id for m in marks} | {s.watermark for s in states} | _run_marks(runs)
    )
    best = [0] * (len(olds) + 1)  # best[j]: the largest new id of an old id in (olds[j-1], olds[j]]
    fields = [name for name, _kind in SLOTS]
    pages = (
        Impression.objects.values("page_id")
        .annotate(first=models.Min("id"))
        .order_by("first")
        .values_list("page_id", flat=True)
    )
    record_id = 0
    page_ids = list(pages)
    for chunk in _chunks(page_ids, 500):
        slots: dict = {page: [] for page in chunk}
        for row in Impression.objects.filter(page_id__in=chunk).order_by("id").values("id", "page_id", *fields):
            slots[row["page_id"]].append(row)
        records = []
        for page in chunk:
            record_id += 1
            rows = slots[page]
            for n, row in enumerate(rows):
                j = bisect.bisect_left(olds, row["id"])
                best[j] = max(best[j], record_id * STRIDE + n)
            records.append(
                Record(
                    id=record_id,
                    page_id=page,
                    slot_count=len(rows),
                    slots=orjson.dumps(
                        [[_cell(f, row[f]) for f in fields] for row in rows],
                        option=orjson.OPT_NON_STR_KEYS,
                    ).decode(),
                )
            )
        Record.objects.bulk_create(records)
    moved = dict(zip(olds, itertools.accumulate(best[: len(olds)], max), strict=True))
    for mark in marks:
        mark.impression_id = moved[mark.impression_id]
        mark.save(update_fields=["impression_id"])
    for state in states:
        state.watermark = moved[state.watermark]
        state.save(update_fields=["watermark"])
    for run in runs:
        if _run_marks([run]):
            run.counts = {
                use: {
                    k: moved[v] if k.startswith("watermark") and isinstance(v, int) else v
                    for k, v in counts.items()
                }
                if isinstance(counts, dict)
                else counts
                for use, counts in run.counts.items()
            }
            run.save(update_fields=["counts"])
    _reset_sequence(schema_editor, Record)


def _chunks(items, n):
    items = iter(items)
    while chunk := list(itertools.islice(items, n)):
        yield chunk


def _run_marks(runs) -> set[int]:
    return {
        v
        for run in runs
        if isinstance(run.counts, dict)
        for counts in run.counts.values()
        if isinstance(counts, dict)
        for k, v in counts.items()
        if k.startswith("watermark") and isinstance(v, int)
    }


def records_into_impressions(apps, schema_editor):
    Impression = apps.get_model("events", "Impression")
    Record = apps.get_model("events", "PageImpressions")
    fields = [name for name, _kind in SLOTS]
    records = Record.objects.select_related("page").order_by("id")
    for chunk in _chunks(records.iterator(chunk_size=500), 500):
        Impression.objects.bulk_create(
            [
                Impression(
                    id=record.id * STRIDE + n,
                    page_id=record.page_id,
                    member_id=record.page.member_id,
                    served_at=record.page.served_at,
                    model_version_id=record.page.model_version_id,
                    **dict(zip(fields, slot, strict=True)),
                )
                for record in chunk
                for n, slot in enumerate(record.slots)
            ]
        )
    _reset_sequence(schema_editor, Impression)


def _reset_sequence(schema_editor, model):
    connection = schema_editor.connection
    for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
        schema_editor.execute(sql)


def table_into_view(apps, schema_editor):
    schema_editor.delete_model(apps.get_model("events", "Impression"))
    vendor = schema_editor.connection.vendor
    schema_editor.execute(view_sql(vendor))
    if vendor == "postgresql":
        try:  # lz4 compresses the slots in a fraction of pglz's time; not every server has it
            with transaction.atomic(using=schema_editor.connection.alias):
                schema_editor.execute(
                    "ALTER TABLE events_pageimpressions ALTER COLUMN slots SET COMPRESSION lz4"
                )
        except Exception:  # noqa: BLE001 - the default compression serves as well
            pass


def view_into_table(apps, schema_editor):
    schema_editor.execute("DROP VIEW events_impression")
    schema_editor.create_model(apps.get_model("events", "Impression"))


class Migration(migrations.Migration):

    dependencies = [
        ("events", "0007_page_planned_at"),
        ("exploration", "0002_watermarks"),
    ]

    operations = [
        migrations.CreateModel(
            name="PageImpressions",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("slot_count", models.PositiveSmallIntegerField(help_text="How many slots `slots` holds.")),
                ("slots", events.models.SlotsField(help_text="The page's slots: one list of SLOT_FIELDS values each.")),
                ("page", models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name="record", to="events.pageview")),
            ],
            options={
                "constraints": [models.CheckConstraint(condition=models.Q(("slot_count__gt", 0), ("slot_count__lte", 1024)), name="page_impressions_slot_count_1_1024")],
            },
        ),
        migrations.RunPython(impressions_into_records, records_into_impressions),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(table_into_view, view_into_table)],
            state_operations=[
                migrations.RemoveIndex(model_name="impression", name="events_impr_member__aa2b3d_idx"),
                migrations.RemoveConstraint(model_name="impression", name="impression_slot_unique"),
                migrations.RemoveConstraint(model_name="impression", name="impression_title_once_a_page"),
                migrations.RemoveConstraint(model_name="impression", name="impression_propensity_in_0_1"),
                migrations.RemoveConstraint(model_name="impression", name="impression_artwork_propensity_in_0_1"),
                migrations.AlterField(
                    model_name="impression",
                    name="id",
                    field=models.BigIntegerField(primary_key=True, serialize=False),
                ),
                migrations.AddField(
                    model_name="impression",
                    name="record",
                    field=models.BigIntegerField(default=0, help_text="The PageImpressions row it comes from."),
                    preserve_default=False,
                ),
                migrations.AlterField(
                    model_name="impression",
                    name="title",
                    field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, to="catalog.title"),
                ),
                migrations.AlterModelOptions(
                    name="impression",
                    options={"managed": False, "ordering": ["page", "row_index", "position"]},
                ),
            ],
        ),
    ]
