"""factory_boy factories for the platform's models."""

from datetime import UTC, date, datetime, timedelta

import factory
from django.contrib.auth import get_user_model

from catalog.models import Genre, Title
from members.models import Member

NOW = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"account{n}")
    password = factory.django.Password("pw-123456")


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Member {n}")
    is_kids = False


class GenreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Genre
        django_get_or_create = ("name",)

    name = "Drama"


class TitleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Title
        skip_postgeneration_save = True

    external_id = factory.Sequence(lambda n: f"t{n:05d}")
    name = factory.Sequence(lambda n: f"Title {n}")
    kind = "movie"
    maturity_rating = "13+"
    runtime_minutes = 100
    release_date = date(2020, 1, 1)
    synopsis = "A story."
    added_at = NOW - timedelta(days=365)

    @factory.post_generation
    def genres(self, create, extracted, **kwargs):
        if create:
            for name in extracted or ["Drama"]:
                self.genres.add(GenreFactory(name=name))


def impressions_log(impressions) -> None:
    """Log unsaved `Impression`s (their pages saved) as their pages' records, the one way
    the log takes them (`events.models.Impression` is a view): each page's slots in the
    order given. Their member and time must be their page's, as the view reads them."""
    from events.models import SLOT_FIELDS
    from events.services import impression_rows

    pages: dict = {}
    for impression in impressions:
        page = impression.page
        assert (impression.member_id, impression.served_at) == (page.member_id, page.served_at)
        pages.setdefault(page.pk, []).append({f: getattr(impression, f) for f in SLOT_FIELDS})
    for page_id, slots in pages.items():
        impression_rows(slots).write(page_id)
