"""Helpers of the survey tests: seed a wave with invitations, walk the pages with a client."""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

import surveys
from app.models import Invitation, Jurisdiction, OrgUnit, UnitKind, Wave, WaveStatus
from app.services.instruments import ensure_instrument
from app.services.tokens import hash_token, new_token, seal_token
from tests.conftest import TEST_KEYS

INSTRUMENT = surveys.load_default()
PAGES = len(INSTRUMENT.scales) + 1
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Seeded:
    wave_id: int
    unit_ids: list[int]
    tokens: list[str] = field(default_factory=list)
    token_units: dict[str, int] = field(default_factory=dict)


def seed_wave(
    session: Session,
    *,
    invitations: int = 3,
    units: int = 1,
    pool_k: int = 10,
    status: WaveStatus = WaveStatus.OPEN,
    closes_at: datetime | None = None,
) -> Seeded:
    """A jurisdiction with ``units`` teams, an open wave, ``invitations`` per team; committed."""
    instrument = ensure_instrument(session, INSTRUMENT)
    suffix = uuid.uuid4().hex[:10]
    jurisdiction = Jurisdiction(name=f"County {suffix}", slug=f"county-{suffix}")
    session.add(jurisdiction)
    session.flush()
    root = OrgUnit(jurisdiction_id=jurisdiction.id, name="Agency", path="", kind=UnitKind.AGENCY)
    session.add(root)
    session.flush()
    teams = []
    for index in range(units):
        team = OrgUnit(
            jurisdiction_id=jurisdiction.id,
            parent_id=root.id,
            name=f"Team {index}",
            path=f"Team {index}",
            kind=UnitKind.TEAM,
        )
        session.add(team)
        teams.append(team)
    now = datetime.now(UTC)
    wave = Wave(
        jurisdiction_id=jurisdiction.id,
        instrument_id=instrument.id,
        year=2026,
        opens_at=now - timedelta(days=3),
        closes_at=closes_at or now + timedelta(days=20),
        status=status,
        pool_k=pool_k,
    )
    session.add(wave)
    session.flush()
    seeded = Seeded(wave.id, [t.id for t in teams])
    rows = []
    for team in teams:
        for _ in range(invitations):
            token = new_token()
            seeded.tokens.append(token)
            seeded.token_units[token] = team.id
            rows.append(
                {
                    "wave_id": wave.id,
                    "unit_id": team.id,
                    "email": f"{secrets.token_hex(4)}@example.org",
                    "token_hash": hash_token(token),
                    "token_sealed": seal_token(TEST_KEYS.mailer_public, token),
                }
            )
    session.execute(insert(Invitation), rows)
    session.commit()
    return seeded


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def arrive(client: FlaskClient, token: str) -> None:
    response = client.get(f"/s/{token}")
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"].endswith("/s/")


def page_csrf(client: FlaskClient, number: int) -> str:
    response = client.get(f"/s/page/{number}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return csrf_of(response.get_data(as_text=True))


def section_answers(number: int, value: int | str) -> dict[str, str]:
    """Every item of section ``number`` answered with ``value``."""
    scale = INSTRUMENT.scales[number - 1]
    return {item.key: str(value) for item in scale.items}


def complete_survey(
    client: FlaskClient,
    token: str,
    *,
    answers: dict[str, int] | None = None,
    background: dict[str, int] | None = None,
    comment: str = "",
) -> str:
    """Answer every section and submit; returns the final response's Location header."""
    arrive(client, token)
    answers = answers or {}
    for number in range(1, PAGES):
        csrf = page_csrf(client, number)
        scale = INSTRUMENT.scales[number - 1]
        data = {k: str(v) for k, v in answers.items() if k in scale.item_keys}
        response = client.post(
            f"/s/page/{number}", data={**data, "csrf_token": csrf, "nav": "next"}
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    csrf = page_csrf(client, PAGES)
    data = {k: str(v) for k, v in (background or {}).items()}
    response = client.post(
        f"/s/page/{PAGES}",
        data={**data, "comment": comment, "csrf_token": csrf, "nav": "submit"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def distinct_answers(index: int) -> dict[str, int]:
    """An answer set that encodes ``index`` (so a test can tell responses apart)."""
    keys = INSTRUMENT.item_keys
    digits = []
    rest = index
    for _ in keys:
        digits.append(rest % 5 + 1)
        rest //= 5
    return dict(zip(keys, digits, strict=True))


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """The app served by Werkzeug on 127.0.0.1 and a free port, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def complete_over_http(
    base: str, token: str, *, answers: dict[str, int], comment: str = ""
) -> requests.Response:
    """Walk every page of the survey over HTTP like a browser with JavaScript off."""
    with requests.Session() as browser:
        first = browser.get(f"{base}/s/{token}", allow_redirects=False, timeout=30)
        assert first.status_code == 302, first.status_code
        for number in range(1, PAGES):
            csrf = csrf_of(browser.get(f"{base}/s/page/{number}", timeout=30).text)
            scale = INSTRUMENT.scales[number - 1]
            data = {k: str(v) for k, v in answers.items() if k in scale.item_keys}
            saved = browser.post(
                f"{base}/s/page/{number}",
                data={**data, "csrf_token": csrf, "nav": "next"},
                allow_redirects=False,
                timeout=30,
            )
            assert saved.status_code == 303, saved.text[:500]
        csrf = csrf_of(browser.get(f"{base}/s/page/{PAGES}", timeout=30).text)
        return browser.post(
            f"{base}/s/page/{PAGES}",
            data={"comment": comment, "csrf_token": csrf, "nav": "submit"},
            allow_redirects=False,
            timeout=30,
        )


def decode_answers(answers: dict[str, int]) -> int:
    """The index that :func:`distinct_answers` encoded."""
    index = 0
    for key in reversed(INSTRUMENT.item_keys):
        index = index * 5 + (answers[key] - 1)
    return index
