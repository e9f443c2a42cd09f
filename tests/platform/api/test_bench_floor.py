"""The load bench's floor (config.urls_bench): what the homepage's contract asks of any page,
measured beside the homepage by scripts/bench_load.py --floor. It must do that work for real,
or the floor it reports is lower than any page could be: the API's token authentication, the
member's check, and a page logged whole, with as many impressions as the newest page."""

import orjson
import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config import urls_bench
from events.models import Impression, PageView
from tests.factories import MemberFactory, TitleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("config.urls_bench")]


@pytest.fixture(autouse=True)
def _no_copy_yet():
    urls_bench._record.cache_clear()  # the record a process copies, once for its life
    yield
    urls_bench._record.cache_clear()


def with_token(account) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=account).key}")
    return client


def slots_of(page) -> list[tuple]:
    return list(
        Impression.objects.filter(page=page)
        .order_by("row_index", "position")
        .values_list("row_key", "row_index", "position", "title_id", "policy", "propensity")
    )


def test_the_floor_logs_the_newest_pages_impressions_and_answers_the_document(member):
    TitleFactory.create_batch(30)
    client = with_token(member.account)
    served = client.get(f"/api/v1/members/{member.pk}/homepage")
    assert served.status_code == 200, served.content
    homepage = PageView.objects.get(page_id=served.json()["page_id"])

    for _ in range(2):
        response = client.get(f"/bench/floor/{member.pk}?bytes=5000")
        assert response.status_code == 200, response.content
        assert len(response.content) == 5000 and orjson.loads(response.content)["padding"]
    floors = PageView.objects.filter(member=member).exclude(pk=homepage.pk)
    assert floors.count() == 2
    assert len(slots_of(homepage)) > 10
    for page in floors:
        assert slots_of(page) == slots_of(homepage)


def test_the_floor_asks_what_every_page_asks(member):
    TitleFactory.create_batch(30)
    client = with_token(member.account)

    assert APIClient().get(f"/bench/floor/{member.pk}").status_code == 401
    other = MemberFactory()
    mine = client.get(f"/bench/floor/{other.pk}")
    assert mine.status_code == 404, mine.content
    empty = client.get(f"/bench/floor/{member.pk}")
    assert empty.status_code == 409
    assert empty.json()["detail"] == "No page is in the log to copy: serve a homepage first."
    assert not PageView.objects.exists()

    client.get(f"/api/v1/members/{member.pk}/homepage")
    for size, error in [("lots", "A whole number of bytes"), ("3", "From 14 to 10000000 bytes")]:
        bad = client.get(f"/bench/floor/{member.pk}?bytes={size}")
        assert bad.status_code == 400 and bad.json()["bytes"][0].startswith(error)
    assert PageView.objects.count() == 1  # the homepage's: nothing of a refused floor
