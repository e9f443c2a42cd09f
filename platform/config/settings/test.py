"""Tests: same settings, fast password hashing. DATABASE_URL (CI) points them at PostgreSQL."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False

# Unit tests gate the two quick kinds; tests of EASE and the transformer name them.
MODELING_CANDIDATES = ["popularity", "mf"]
