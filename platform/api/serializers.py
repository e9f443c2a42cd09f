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


class QueryParams:
    """The query parameters of a request checked by the fields of `serializer_class`, bound
    once: what `serializer_class(data=query)` then `is_valid(raise_exception=True)` and
    `validated_data` give, the same values and the same 400. A serializer deep-copies its
    declared fields for every instance, which cost a page of the homepage about 0.2 ms of
    CPU for two fields. For serializers of fields only: one with `validate` or a
    `validate_<field>` method is refused."""

    def __init__(self, serializer_class: type[serializers.Serializer]):
        base = serializers.Serializer
        hooks = [
            name
            for name in dir(serializer_class)
            if name.startswith("validate")
            and getattr(serializer_class, name) is not getattr(base, name, None)
        ]
        if hooks:
            raise TypeError(f"{serializer_class.__name__} validates in {', '.join(hooks)}")
        self.serializer_class = serializer_class
        self._fields = None

    def validate(self, query) -> dict:
        fields = self._fields
        if fields is None:  # bound on first use, after Django's settings are read
            fields = self._fields = list(self.serializer_class().fields.values())
        values, errors = {}, {}
        for field in fields:
            if field.read_only:
                continue
            try:
                values[field.source] = field.run_validation(field.get_value(query))
            except serializers.ValidationError as exc:
                errors[field.field_name] = exc.detail
            except serializers.SkipField:
                pass
        if errors:
            raise serializers.ValidationError(errors)
        return values
