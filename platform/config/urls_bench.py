"""The URL conf of the load benchmarks: every production route, plus two endpoints that a
page of the same size is measured against (scripts/bench_load.py). Only
`config.settings.bench` routes them.

- `GET /bench/bare?bytes=N` answers a JSON document of exactly N bytes, built once per size
  and process: a plain Django view with no database query, no authentication and no
  serializer, behind the same middleware as the API.
- `GET /bench/floor/{member_id}?bytes=N` answers the same document after doing what the
  homepage's contract asks of every page, whatever chooses its rows: the API's token
  authentication, the check that the member is the account's, and the page logged with its
  impressions before the answer, in the fact log's one statement (`events.page_record`).
  The record it logs is a copy of the newest page's in the log, so it writes as many slots
  as a homepage does. Nothing chooses, ranks or reads what serves: what the homepage costs
  above this is its own.
"""

from functools import cache, lru_cache

import orjson
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.views import APIView

from events.models import SLOT_FIELDS, PageImpressions
from events.services import ImpressionRows, page_record
from members.selectors import member_get_for_account

from .urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401

MAX_BYTES = 10_000_000


@lru_cache(maxsize=16)
def _document(size: int) -> bytes:
    head, tail = b'{"padding":"', b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def _size_error(text: str) -> str | None:
    try:
        size = int(text)
    except ValueError:
        return "A whole number of bytes, e.g. ?bytes=40000."
    return None if 14 <= size <= MAX_BYTES else f"From 14 to {MAX_BYTES} bytes."


def bare(request):
    text = request.GET.get("bytes", "1000")
    if error := _size_error(text):
        return JsonResponse({"bytes": [error]}, status=400)
    return HttpResponse(_document(int(text)), content_type="application/json")


class NoPageLogged(APIException):
    status_code = 409
    default_detail = "No page is in the log to copy: serve a homepage first."


@cache  # the record this process writes for every page (a refusal is not kept)
def _record() -> ImpressionRows:
    newest = PageImpressions.objects.order_by("-id").first()
    if newest is None:
        raise NoPageLogged()
    title = SLOT_FIELDS.index("title_id")
    text = orjson.dumps(newest.slots).decode()
    return ImpressionRows(text, tuple(slot[title] for slot in newest.slots))


class Floor(APIView):
    def get(self, request, member_id: int):
        text = request.query_params.get("bytes", "1000")
        if error := _size_error(text):
            return JsonResponse({"bytes": [error]}, status=400)
        member = member_get_for_account(member_id=member_id, account=request.user)
        page_record(
            member=member,
            served_at=timezone.now(),
            model_version_id=None,
            fallback=False,
            fallback_reason="",
            slots=_record(),
        )
        return HttpResponse(_document(int(text)), content_type="application/json")


urlpatterns = [
    *urlpatterns,
    path("bench/bare", bare, name="bench-bare"),
    path("bench/floor/<id:member_id>", Floor.as_view(), name="bench-floor"),
]
