"""Production settings (compose.yaml): DEBUG off, and the secret key, the allowed hosts and the
database come from the environment. Missing ones stop the process at start with their names,
rather than running with a development default."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

REQUIRED = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL")
missing = [name for name in REQUIRED if not os.environ.get(name, "").strip()]
if missing:
    raise ImproperlyConfigured(
        f"The production settings need {', '.join(missing)} in the environment "
        "(see compose.yaml); refusing to start without them."
    )
DEBUG = False
