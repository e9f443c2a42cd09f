"""WSGI entry point (gunicorn config.wsgi, with platform/ on the path)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

import gc  # noqa: E402

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
# Django, DRF, numpy and torch, loaded once for the life of the process: keep the garbage
# collector from walking them again in every full collection during requests.
gc.freeze()
