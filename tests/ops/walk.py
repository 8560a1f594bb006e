"""A person walking the survey over HTTP who, like a patient browser, sends a page again after a
503 "try again" page. Every status seen is recorded, so a test can tell a 503 from a 500."""

from __future__ import annotations

import http.client
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from tests.survey.helpers import INSTRUMENT, PAGES

_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
#: Statuses that mean "the server is away or restarting; send it again".
TRY_AGAIN = frozenset({503, -1})


class Browser:
    """Keep-alive HTTP/1.1 with cookies and no redirects followed (cheap on CPU)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.connection: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self, method: str, path: str, data: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """The status and body; -1 when the connection failed (server restarting)."""
        headers = {}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.connection.request(method, path, body, headers)
            response = self.connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return -1, b""
        for cookie in response.headers.get_all("Set-Cookie") or ():
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if value:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        if response.will_close:
            self.close()
        return response.status, content


@dataclass
class Walk:
    """What one person saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    submit_statuses: list[int] = field(default_factory=list)
    outcome: str = (
        ""  # "thanks", "already" (a retried submit whose first try was stored), or why not
    )
    submit_seconds: float | None = None
    #: Connection failures (-1) on a request that had been sent: possibly received by the server.
    lost_requests: int = 0


def answers_for(index: int) -> dict[str, int]:
    """An answer set encoding ``index`` (the test tells responses apart by it)."""
    digits, rest = {}, index
    for key in INSTRUMENT.item_keys:
        digits[key] = rest % 5 + 1
        rest //= 5
    return digits


def decode(answers: dict[str, int]) -> int:
    index = 0
    for key in reversed(INSTRUMENT.item_keys):
        index = index * 5 + (answers[key] - 1)
    return index


def walk(
    host: str, port: int, token: str, index: int, *, patience: float = 90.0, pause: float = 0.25
) -> Walk:
    """Answer every section and submit; each request is sent again after a 503 (or a refused
    connection) until ``patience`` seconds have passed. Any other unexpected status ends it."""
    seen = Walk()
    browser = Browser(host, port)
    answers = answers_for(index)
    deadline = time.monotonic() + patience

    def send(
        method: str, path: str, data: dict[str, str] | None, ok: set[int]
    ) -> tuple[int, bytes]:
        while True:
            status, body = browser.request(method, path, data)
            seen.statuses[status] += 1
            if path.endswith(f"/page/{PAGES}") and method == "POST":
                seen.submit_statuses.append(status)
            if status in ok or status not in TRY_AGAIN or time.monotonic() > deadline:
                return status, body
            time.sleep(pause)

    try:
        status, _ = send("GET", f"/s/{token}", None, {302})
        if status != 302:
            seen.outcome = f"link answered {status}"
            return seen
        status, body = send("GET", "/s/page/1", None, {200})
        match = _CSRF.search(body)
        if status != 200 or match is None:
            seen.outcome = f"first page answered {status}"
            return seen
        csrf = match.group(1).decode()
        for number, scale in enumerate(INSTRUMENT.scales, start=1):
            data = {key: str(answers[key]) for key in scale.item_keys}
            status, _ = send(
                "POST", f"/s/page/{number}", {**data, "csrf_token": csrf, "nav": "next"}, {303}
            )
            if status != 303:
                seen.outcome = f"page {number} answered {status}"
                return seen
        started = time.perf_counter()
        status, body = send(
            "POST",
            f"/s/page/{PAGES}",
            {"csrf_token": csrf, "nav": "submit", "comment": ""},
            {303, 200},
        )
        if status == 303:
            seen.outcome = "thanks"
            seen.submit_seconds = time.perf_counter() - started
        elif status == 200 and b"already answered" in body and len(seen.submit_statuses) > 1:
            seen.outcome = "already"  # the first try was stored; the retry says so
        else:
            seen.outcome = f"submit answered {status}"
        return seen
    finally:
        browser.close()
