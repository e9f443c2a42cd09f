"""Field validators shared by several API views."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_BATCH = 500


def not_in_future(value):
    if value > timezone.now() + MAX_CLOCK_SKEW:
        raise serializers.ValidationError(
            f"{value.isoformat()} is in the future; times may run at most 5 minutes ahead of the server."
        )
    return value
