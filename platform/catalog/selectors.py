"""Reads of the catalogue."""

from datetime import datetime

from django.db.models import Q, QuerySet

from .models import KIDS_RATINGS, Title


def title_list(*, kids_only: bool = False) -> QuerySet[Title]:
    titles = Title.objects.prefetch_related("genres").order_by("id")
    if kids_only:
        titles = titles.filter(maturity_rating__in=KIDS_RATINGS)
    return titles


def title_available(*, at: datetime, kids_only: bool = False) -> QuerySet[Title]:
    """Titles in the catalogue at time `at` (a title is not shown before it was added)."""
    return title_list(kids_only=kids_only).filter(added_at__lte=at)


def title_search(*, query: str, kids_only: bool = False, limit: int = 40) -> list[Title]:
    """Second discovery path: match every word of the query in name, synopsis or genres."""
    titles = title_list(kids_only=kids_only)
    for word in query.split():
        titles = titles.filter(
            Q(name__icontains=word) | Q(synopsis__icontains=word) | Q(genres__name__iexact=word)
        )
    return list(titles.distinct()[:limit])
