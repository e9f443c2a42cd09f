"""The URL conf of the load benchmarks: every production route, plus a bare endpoint.

`GET /bench/bare?bytes=N` answers a JSON document of exactly N bytes, built once per size and
process: a plain Django view with no database query, no authentication and no serializer,
behind the same middleware as the API. Its throughput is the floor a page of the same size
is measured against (scripts/bench_load.py). Only `config.settings.bench` routes it.
"""

from functools import lru_cache

from django.http import HttpResponse, JsonResponse
from django.urls import path

from .urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401

MAX_BYTES = 10_000_000


@lru_cache(maxsize=16)
def _document(size: int) -> bytes:
    head, tail = b'{"padding":"', b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def bare(request):
    try:
        size = int(request.GET.get("bytes", "1000"))
    except ValueError:
        return JsonResponse({"bytes": ["A whole number of bytes, e.g. ?bytes=40000."]}, status=400)
    if not 14 <= size <= MAX_BYTES:
        return JsonResponse({"bytes": [f"From 14 to {MAX_BYTES} bytes."]}, status=400)
    return HttpResponse(_document(size), content_type="application/json")


urlpatterns = [*urlpatterns, path("bench/bare", bare, name="bench-bare")]
