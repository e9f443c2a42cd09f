"""Production-like settings (compose.yaml): a real secret key and explicit hosts are required."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

if "DJANGO_SECRET_KEY" not in os.environ:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY for the production settings.")
