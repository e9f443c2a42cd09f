"""The Celery app, as in Celery's own Django example: settings come from Django under CELERY_."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("homepage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
