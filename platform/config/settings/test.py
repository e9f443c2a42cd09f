"""Tests: same settings, fast password hashing. DATABASE_URL (CI) points them at PostgreSQL."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False

# Unit tests gate the two quick kinds; tests of EASE and the transformer name them.
MODELING_CANDIDATES = ["popularity", "mf"]

# Every page computes its own: a test database rolled back reuses ids (SQLite), so a plan
# kept from one test could match a member of the next. The plans' tests turn them on.
HOMEPAGE_PLAN_SECONDS = 0
# A refresh runs on a thread of its own, from which a test's open transaction hides the
# test's rows; the refresh's tests turn it on, in tests that commit.
HOMEPAGE_PLAN_REFRESH_SECONDS = 0
