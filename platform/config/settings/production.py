"""Production settings (compose.yaml): DEBUG off, and the secret key, the allowed hosts and the
database come from the environment. Missing ones stop the process at start with their names,
rather than running with a development default; so does a secret key too weak to sign with.

Transport security is on by default, for a deployment that serves HTTPS (itself or behind a
proxy that sets X-Forwarded-Proto): plain HTTP is redirected, cookies are sent only over HTTPS,
and browsers are told by HSTS to use HTTPS for a year. `manage.py check --deploy` is clean
with these (tests/platform/config/test_settings.py). A stack that serves plain HTTP on
localhost, as compose.yaml does, turns the redirect off with DJANGO_SECURE_SSL_REDIRECT=0.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool

REQUIRED = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL")
missing = [name for name in REQUIRED if not os.environ.get(name, "").strip()]
if missing:
    raise ImproperlyConfigured(
        f"The production settings need {', '.join(missing)} in the environment "
        "(see compose.yaml and .env.example); refusing to start without them."
    )

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"].strip()
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak to sign sessions and tokens with: it needs at least 50 "
        "characters, 5 of them different. Make one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
ALLOWED_HOSTS = [host.strip() for host in os.environ["DJANGO_ALLOWED_HOSTS"].split(",")]
DEBUG = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", 365 * 24 * 3600))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
