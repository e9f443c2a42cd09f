import pytest

from config import celery_app
from modeling.models import RetrainRun
from modeling.tasks import retrain

pytestmark = pytest.mark.django_db


def test_beat_schedules_the_registered_retrain_task(settings):
    celery_app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "modeling.tasks.retrain" in scheduled
    assert "modeling.tasks.retrain" in celery_app.tasks


def test_a_scheduled_retrain_creates_its_own_run_and_records_the_outcome():
    result = retrain.apply().get()  # as beat calls it: no run id
    run = RetrainRun.objects.get(pk=result["run_id"])
    assert run.trigger == "schedule"
    assert run.status == RetrainRun.Status.FAILED == result["status"]
    assert "plays in the fact log" in run.error
