"""Writes to the catalogue."""

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from .models import Genre, Title

REQUIRED = (
    "external_id",
    "name",
    "kind",
    "genres",
    "maturity_rating",
    "runtime_minutes",
    "release_date",
    "added_at",
)


def _parse_title(index: int, raw: dict) -> tuple[dict, list[str]]:
    missing = [key for key in REQUIRED if key not in raw]
    if missing:
        raise ValidationError(
            f"Title #{index} ({raw.get('external_id', '?')}): missing {', '.join(missing)}."
        )
    added_at = parse_datetime(str(raw["added_at"]))
    if added_at is None:
        raise ValidationError(
            f"Title #{index} ({raw['external_id']}): added_at {raw['added_at']!r} is not a datetime."
        )
    try:
        release = date.fromisoformat(str(raw["release_date"]))
    except ValueError:
        raise ValidationError(
            f"Title #{index} ({raw['external_id']}): release_date {raw['release_date']!r} is not YYYY-MM-DD."
        ) from None
    fields = {
        "name": str(raw["name"]),
        "kind": raw["kind"],
        "maturity_rating": raw["maturity_rating"],
        "runtime_minutes": raw["runtime_minutes"],
        "release_date": release,
        "synopsis": str(raw.get("synopsis", "")),
        "added_at": added_at,
    }
    return fields, [str(g) for g in raw["genres"]]


@transaction.atomic
def catalog_import(*, titles: Iterable[dict]) -> tuple[int, int]:
    """Create or update titles by external_id, all or nothing. Returns (created, updated)."""
    created = updated = 0
    genres = {g.name: g for g in Genre.objects.all()}
    for index, raw in enumerate(titles):
        fields, genre_names = _parse_title(index, raw)
        title = Title.objects.filter(external_id=raw["external_id"]).first() or Title(
            external_id=raw["external_id"]
        )
        is_new = title.pk is None
        for key, value in fields.items():
            setattr(title, key, value)
        try:
            title.full_clean()
        except ValidationError as exc:
            raise ValidationError(
                f"Title #{index} ({raw['external_id']}): {exc.message_dict}"
            ) from None
        title.save()
        for name in genre_names:
            if name not in genres:
                genres[name] = Genre.objects.create(name=name)
        title.genres.set([genres[name] for name in genre_names])
        created += is_new
        updated += not is_new
    return created, updated
