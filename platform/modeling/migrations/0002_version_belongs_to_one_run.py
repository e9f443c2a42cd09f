# A model version belongs to the one run that trained it (a foreign key, not a many-to-many),
# so a unique (run, kind) can stop a resumed run from registering a kind twice. Existing links
# are copied over before the many-to-many table is dropped.

import django.db.models.deletion
from django.db import migrations, models


def copy_run_links(apps, schema_editor):
    RetrainRun = apps.get_model("modeling", "RetrainRun")
    ModelVersion = apps.get_model("modeling", "ModelVersion")
    for link in RetrainRun.candidates.through.objects.all():
        ModelVersion.objects.filter(pk=link.modelversion_id).update(run_id=link.retrainrun_id)


def copy_run_links_back(apps, schema_editor):
    RetrainRun = apps.get_model("modeling", "RetrainRun")
    ModelVersion = apps.get_model("modeling", "ModelVersion")
    RetrainRun.candidates.through.objects.bulk_create(
        RetrainRun.candidates.through(retrainrun_id=run_id, modelversion_id=pk)
        for pk, run_id in ModelVersion.objects.filter(run__isnull=False).values_list("pk", "run_id")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('modeling', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='modelversion',
            name='run',
            field=models.ForeignKey(blank=True, help_text='The retrain run that trained it.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='modeling.retrainrun'),
        ),
        migrations.RunPython(copy_run_links, copy_run_links_back),
        migrations.RemoveField(
            model_name='retrainrun',
            name='candidates',
        ),
        migrations.AlterField(
            model_name='modelversion',
            name='run',
            field=models.ForeignKey(blank=True, help_text='The retrain run that trained it.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='candidates', to='modeling.retrainrun'),
        ),
        migrations.AddField(
            model_name='retrainrun',
            name='as_of',
            field=models.DateTimeField(blank=True, help_text='The fact log is read as of this time, on every attempt.', null=True),
        ),
        migrations.AddField(
            model_name='retrainrun',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, help_text="Times a worker started it (a lost worker's run is resumed)."),
        ),
        migrations.AlterField(
            model_name='promotiondecision',
            name='candidate_value',
            field=models.FloatField(blank=True, help_text='None when the candidate could not be judged at all.', null=True),
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.UniqueConstraint(fields=('run', 'kind'), name='model_version_once_per_run'),
        ),
    ]
