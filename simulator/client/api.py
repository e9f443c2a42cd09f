"""The HTTP layer: one account's session with the platform, retrying politely.

The only module of the client that sends requests. What a 4xx or a failing server means
for a run is :class:`ClientError`; the orchestration (:mod:`simulator.client.traffic`)
decides whether to wait or to stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import requests

from simulator.clock import format_time

API_PREFIX = "/api/v1"
DEFAULT_TRIES = 4
"""Attempts per request on a 5xx or a connection error (so three retries)."""


class ClientError(Exception):
    """The platform refused a request (4xx) or stayed unreachable/failing after retries.

    ``status`` is the HTTP status, or None when no response came back at all.
    """

    def __init__(self, status: int | None, message: str, *, method: str = "", url: str = ""):
        self.status = status
        self.message = message
        self.method = method
        self.url = url
        where = f"{method} {url} " if method else ""
        super().__init__(f"{where}-> {status if status is not None else 'no response'}: {message}")


def backoff_delays(
    tries: int = DEFAULT_TRIES, *, base: float = 0.5, factor: float = 2.0, cap: float = 8.0
) -> list[float]:
    """Seconds to wait before each retry: ``tries - 1`` exponentially growing, capped delays."""
    if tries < 1:
        raise ValueError(f"tries must be at least 1, got {tries}")
    return [min(cap, base * factor**k) for k in range(tries - 1)]


def error_message(response: requests.Response) -> str:
    """The server's own words: DRF's ``detail`` or ``errors`` if JSON, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500].strip() or response.reason or ""
    if isinstance(body, dict) and "detail" in body and len(body) == 1:
        return str(body["detail"])
    return str(body)[:2000]


class Api:
    """One account's view of the API: a requests session with its token, retrying politely.

    5xx answers and connection errors are retried after :func:`backoff_delays`; posting
    events again is safe because every event carries its own id. A 4xx raises
    :class:`ClientError` at once: retrying would not change the answer.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        tries: int = DEFAULT_TRIES,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.tries = tries
        self.timeout = timeout
        self.sleep = sleep
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Token {token}"

    def clone(self) -> Api:
        """Same account on a fresh session, for another thread (sessions are not thread-safe)."""
        return Api(
            self.base_url,
            token=self.token,
            tries=self.tries,
            timeout=self.timeout,
            sleep=self.sleep,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        problem, status = "", None
        for delay in [0.0, *backoff_delays(self.tries)]:
            if delay:
                self.sleep(delay)
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem, status = f"{type(exc).__name__}: {exc}", None
                continue
            if response.status_code >= 500:
                problem, status = error_message(response), response.status_code
                continue
            if response.status_code >= 400:
                raise ClientError(
                    response.status_code, error_message(response), method=method, url=url
                )
            return response.json() if response.content else None
        raise ClientError(
            status, f"gave up after {self.tries} tries: {problem}", method=method, url=url
        )

    def login(self, username: str, password: str) -> None:
        body = self.request(
            "POST", f"{API_PREFIX}/auth/token", json={"username": username, "password": password}
        )
        self.token = body["token"]
        self.session.headers["Authorization"] = f"Token {self.token}"

    def me(self) -> dict[str, Any]:
        return self.request("GET", f"{API_PREFIX}/me")

    def titles(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        url: str | None = f"{API_PREFIX}/titles"
        params: dict[str, Any] | None = {"page_size": page_size}
        seen: set[str] = set()
        while url and url not in seen:
            seen.add(url)
            body = self.request("GET", url, params=params)
            yield from body["results"]
            url, params = body.get("next"), None
            if url and not url.startswith(("http://", "https://")):
                url = urljoin(self.base_url + "/", url)

    def homepage(self, member_id: int, at: datetime, device: str | None = None) -> dict[str, Any]:
        """``GET /api/v1/members/{id}/homepage?at=<time>&device=<name>``: the page at the
        visit's time, for the device the visit comes from (one of
        ``simulator.world.DEVICES``; None: the parameter is left out)."""
        params = {"at": format_time(at)}
        if device is not None:
            params["device"] = device
        return self.request("GET", f"{API_PREFIX}/members/{member_id}/homepage", params=params)

    def search(self, query: str, member_id: int) -> dict[str, Any]:
        return self.request(
            "GET", f"{API_PREFIX}/search", params={"q": query[:200], "member": member_id}
        )

    def post_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return self.request("POST", f"{API_PREFIX}/events", json={"events": events})
