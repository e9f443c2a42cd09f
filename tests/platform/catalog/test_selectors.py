"""The catalogue snapshot that page construction reads: always the catalogue as it is now."""

from datetime import timedelta

import pytest

from catalog.models import Genre
from catalog.selectors import titles_on_offer
from tests.factories import NOW, TitleFactory

pytestmark = pytest.mark.django_db


def test_offer_holds_titles_added_by_then_and_their_genres():
    drama = TitleFactory(genres=["Drama"])
    later = TitleFactory(added_at=NOW + timedelta(days=1))
    offer = titles_on_offer(at=NOW)
    assert set(offer.titles) == {drama.pk}
    assert offer.genre_ids[drama.pk] == {Genre.objects.get(name="Drama").pk}
    assert set(titles_on_offer(at=NOW + timedelta(days=2)).titles) == {drama.pk, later.pk}


def test_kids_offer_holds_only_kids_titles():
    TitleFactory(maturity_rating="16+")
    cartoon = TitleFactory(maturity_rating="7+")
    assert set(titles_on_offer(at=NOW, kids_only=True).titles) == {cartoon.pk}


def test_snapshot_reloads_after_a_title_is_added_changed_or_relinked():
    title = TitleFactory(name="Before", genres=["Drama"])
    assert titles_on_offer(at=NOW).titles[title.pk].name == "Before"

    title.name = "After"
    title.save()
    assert titles_on_offer(at=NOW).titles[title.pk].name == "After"

    comedy = Genre.objects.create(name="Comedy")
    title.genres.set([comedy])  # relinked without saving the title
    assert titles_on_offer(at=NOW).genre_ids[title.pk] == {comedy.pk}

    other = TitleFactory()
    assert set(titles_on_offer(at=NOW).titles) == {title.pk, other.pk}
    other.delete()
    assert set(titles_on_offer(at=NOW).titles) == {title.pk}
