"""Serializers shared by several API views (each view nests its own Input/Output)."""

from datetime import date, datetime

import orjson
from django.utils import timezone
from rest_framework import serializers

from catalog.models import Title


class TitleOutput(serializers.ModelSerializer):
    genres = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Title
        fields = [
            "id",
            "external_id",
            "name",
            "kind",
            "genres",
            "maturity_rating",
            "runtime_minutes",
            "release_date",
            "added_at",
            "synopsis",
        ]


def drf_time(value: datetime) -> str:
    """A time as DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as Z."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def title_payload(title: Title) -> dict:
    """What `TitleOutput` writes for `title` (genres prefetched), as plain data."""
    release: date = title.release_date
    return {
        "id": title.id,
        "external_id": title.external_id,
        "name": title.name,
        "kind": title.kind,
        "genres": [g.name for g in title.genres.all()],
        "maturity_rating": title.maturity_rating,
        "runtime_minutes": title.runtime_minutes,
        "release_date": release.isoformat(),
        "added_at": drf_time(title.added_at),
        "synopsis": title.synopsis,
    }


def title_json(title: Title) -> orjson.Fragment:
    """`title_payload` serialized once per Title object, for `api.renderers.ORJSONRenderer`.

    The homepage shows up to 250 titles a page out of the catalogue snapshot that every
    request shares (catalog.selectors), whose Title objects are replaced whenever the
    catalogue changes; so the serialized form is kept on the object and dies with it.
    """
    cached = title.__dict__.get("_json_fragment")
    if cached is None:
        cached = orjson.Fragment(orjson.dumps(title_payload(title)))
        title.__dict__["_json_fragment"] = cached
    return cached
