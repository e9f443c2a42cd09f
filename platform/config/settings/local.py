"""Local development and `make demo`: the embedded default unless the environment says otherwise.

DEBUG stays off here too (DJANGO_DEBUG=1 turns it on for a developer who wants it): a debug
page lists the URL patterns on every 404 and shows source and settings on every 500, to anyone
who can reach the port. With it off, errors are the API's own JSON (api.errors).
"""

from .base import *  # noqa: F403
