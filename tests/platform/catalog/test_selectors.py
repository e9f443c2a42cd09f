"""The catalogue snapshot that page construction reads: always the catalogue as it is now."""

from datetime import timedelta

import pytest
from django.db import connection

from catalog.models import CatalogStamp, Genre, Title
from catalog.selectors import catalog_stamp_sql, title_list, title_search, titles_on_offer
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

    # What no signal sees: a queryset update, raw SQL, a genre renamed (its name is on the page)
    Title.objects.filter(pk=title.pk).update(name="Updated")
    assert titles_on_offer(at=NOW).titles[title.pk].name == "Updated"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_title SET synopsis = 'Raw' WHERE id = %s", [title.pk])
    assert titles_on_offer(at=NOW).titles[title.pk].synopsis == "Raw"
    Genre.objects.filter(pk=comedy.pk).update(name="Farce")
    assert [g.name for g in titles_on_offer(at=NOW).titles[title.pk].genres.all()] == ["Farce"]


def test_the_catalogue_stamp_moves_on_every_write_and_survives_a_flush():
    stamp = catalog_stamp()
    title = TitleFactory()
    assert catalog_stamp() != stamp
    stamp = catalog_stamp()
    Title.objects.filter(pk=title.pk).update(runtime_minutes=90)
    assert catalog_stamp() != stamp
    stamp = catalog_stamp()
    assert list(Title.objects.all()) == [title]  # a read moves nothing
    assert catalog_stamp() == stamp
    CatalogStamp.objects.all().delete()  # as a flush leaves it
    assert catalog_stamp() == (None, None)
    TitleFactory()
    again = catalog_stamp()
    assert again != stamp and again[1] > stamp[1]  # a new row, at a later time


def catalog_stamp() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(catalog_stamp_sql()[0])
        return tuple(cursor.fetchone())


def test_list_and_search_read_titles_and_genres_in_two_queries(django_assert_num_queries):
    """One query for the titles, one for all their genres, however many titles match."""
    for i in range(12):
        TitleFactory(name=f"Space story {i}", genres=["Drama", "Sci-Fi"])
    with django_assert_num_queries(2):
        titles = list(title_list())
        assert len(titles) == 12 and all(len(t.genres.all()) == 2 for t in titles)
    with django_assert_num_queries(2):
        found = title_search(query="space sci-fi")
        assert len(found) == 12 and all(len(t.genres.all()) == 2 for t in found)


def test_a_warm_snapshot_costs_one_aggregate_query(django_assert_num_queries):
    TitleFactory.create_batch(20)
    titles_on_offer(at=NOW)  # load
    with django_assert_num_queries(1):  # the titles' and the genre links' stamps together
        assert len(titles_on_offer(at=NOW).titles) == 20
    with django_assert_num_queries(1):  # another time with the same titles on offer
        assert len(titles_on_offer(at=NOW + timedelta(hours=1)).titles) == 20


def test_titles_on_offer_follow_the_clock_past_each_added_at():
    early, late = TitleFactory(added_at=NOW - timedelta(days=2)), TitleFactory(added_at=NOW)
    assert set(titles_on_offer(at=NOW - timedelta(days=1)).titles) == {early.pk}
    assert set(titles_on_offer(at=NOW).titles) == {early.pk, late.pk}
    assert set(titles_on_offer(at=NOW - timedelta(days=3)).titles) == set()
    assert set(titles_on_offer(at=NOW - timedelta(days=1)).titles) == {early.pk}


def test_search_for_a_kids_profile_finds_kids_titles_only():
    from tests.factories import MemberFactory

    TitleFactory(name="Dragon saga", maturity_rating="16+")
    cartoon = TitleFactory(name="Dragon friends", maturity_rating="7+")
    kid, adult = MemberFactory(is_kids=True), MemberFactory()
    assert [t.pk for t in title_search(query="dragon", member=kid)] == [cartoon.pk]
    assert len(title_search(query="dragon", member=adult)) == 2
