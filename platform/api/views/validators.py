"""Fields and validators shared by several API views: the bounds every input shares.

Ids are database keys (positive 64-bit integers), event and page ids are UUIDs in their text
form, and times lie on the platform's clock: not before the unix epoch, the zero of the clock
the models count in (so no page or event is dated 1900, and date arithmetic never leaves the
calendar), and at most MAX_CLOCK_SKEW ahead of the server.
"""

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from rest_framework import serializers

MAX_CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_BATCH = 500
MAX_ID = 2**63 - 1


def not_in_future(value):
    if value > timezone.now() + MAX_CLOCK_SKEW:
        raise serializers.ValidationError(
            f"{value.isoformat()} is in the future; times may run at most 5 minutes ahead of the server."
        )
    return value


def not_before_epoch(value):
    if value < EARLIEST_TIME:
        raise serializers.ValidationError(
            f"{value.isoformat()} is before {EARLIEST_TIME.isoformat()}, where the platform's clock starts."
        )
    return value


class BlankIsInvalid:
    """In a query string, `at=` is an invalid value, not a missing one: DRF's rule for HTML
    forms would quietly drop it and use the default, which the schema does not allow."""

    def get_value(self, dictionary):
        if hasattr(dictionary, "getlist") and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class TimeField(BlankIsInvalid, serializers.DateTimeField):
    """An ISO 8601 time on the platform's clock (see the module docstring)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [not_before_epoch, not_in_future])
        kwargs.setdefault(
            "help_text",
            "ISO 8601 with a UTC offset; from 1970-01-01T00:00:00Z to 5 minutes ahead of the server",
        )
        super().__init__(**kwargs)


class CountField(BlankIsInvalid, serializers.IntegerField):
    """A whole number in a query string (`limit`), with its bounds."""


class IdField(BlankIsInvalid, serializers.IntegerField):
    """A database id: 1 to 2^63-1 (a larger number cannot name a row, and overflows queries)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class StrictUUIDField(serializers.UUIDField):
    """A UUID in its text form only. DRF's own field also turns an integer into a UUID
    (`42` becomes 00000000-...-00002a), which the contract does not allow."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class QueryChoiceField(BlankIsInvalid, serializers.ChoiceField):
    """One of a fixed set of names in a query string (`window=24h`); `window=` is invalid."""


DEVICE_HELP = (
    "The device the request comes from: one of tv, phone, tablet, desktop; left out: "
    "unknown. Models that read devices (SASRec with use_device) rank for it."
)


def device_field(**kwargs) -> "QueryChoiceField":
    """The optional `device` of a page request or an event: one of `events.models.Device`,
    an unknown name answered 400 naming it and the allowed ones."""
    from events.models import Device

    allowed = ", ".join(Device.values)
    kwargs.setdefault("help_text", DEVICE_HELP)
    return QueryChoiceField(
        choices=Device.values,
        required=False,
        error_messages={
            "invalid_choice": f'"{{input}}" is not a device; use one of {allowed}, or leave '
            "device out (unknown)."
        },
        **kwargs,
    )


class TextField(serializers.CharField):
    """A string, and only a string: DRF's own field turns `0` or `true` into text, which a
    JSON contract that says "string" does not allow."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
