"""Pages, emails and report downloads in Spanish, and the language a leader chooses.

The walk opens every page (GET) that each role may see, asking for Spanish as a browser does,
and fails on any English sentence of the catalog (a msgid fragment of three words or more)
left in the page's visible text. Then: a leader's account language decides pages and reports,
a download can ask for another language, and an invitation in Spanish is Spanish in both parts.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy.orm import Session

from app import catalog
from app.models import User
from app.services import mail
from tests.admin.test_access_walk import (  # noqa: F401 — the world fixture
    ALLOWED,
    NOT_FOUND_MEANS_DENIED,
    PUBLIC_BLUEPRINTS,
    World,
    _client,
    _url,
    world,
)
from tests.reports.conftest import (  # noqa: F401 — the small fixture
    SmallJurisdiction,
    login,
    make_leader,
    small,
)
from tests.test_i18n_reports import english_fragments, pdf_text, squash

SPANISH = {"Accept-Language": "es"}


def _english_fragments() -> set[str]:
    with catalog.po_path("es").open("rb") as source:
        po = read_po(source, locale="es")
    messages: list[str] = []
    for message in po:
        if message.id:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            messages.extend(str(i) for i in ids)
    return {f for f in english_fragments(messages) if "<" not in f}


ENGLISH = _english_fragments()


def visible_text(page: str, language: str = "es") -> str:
    """The page's text, without scripts and without what is marked as another language."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    other = rf'<(\w+)\b[^>]*\blang="(?!{language}")[^"]*"[^>]*>.*?</\1>'
    page = re.sub(other, " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def english_in(text: str) -> list[str]:
    flat = squash(text)
    return sorted(f for f in ENGLISH if squash(f) in flat)


def test_the_english_detector_finds_a_catalog_sentence() -> None:
    assert english_in("Resumen · Choose a language and a message. · Fin")


def test_every_page_of_every_role_is_spanish_when_the_browser_asks(world: World) -> None:  # noqa: F811
    rules = [
        r
        for r in world.app.url_map.iter_rules()
        if r.endpoint != "static"
        and not r.endpoint.endswith(".static")
        and r.endpoint.split(".")[0] not in PUBLIC_BLUEPRINTS
        and "GET" in (r.methods or set())
        and r.endpoint not in NOT_FOUND_MEANS_DENIED
    ]
    leaks: list[str] = []
    seen = 0
    for role in sorted({role for roles in ALLOWED.values() for role in roles}):
        client = _client(world, role)
        for rule in sorted(rules, key=lambda r: r.endpoint):
            if role not in ALLOWED.get(rule.endpoint, set()) or rule.endpoint == "auth.logout":
                continue
            response = client.get(_url(rule, world.args), headers=SPANISH)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            seen += 1
            page = response.get_data(as_text=True)
            assert '<html lang="es"' in page, f"{rule.endpoint} as {role} is not marked Spanish"
            for fragment in english_in(visible_text(page)):
                leaks.append(f"{rule.endpoint} as {role}: {fragment!r}")
    assert seen >= 20, f"only {seen} pages were rendered: the walk walks too little"
    assert not leaks, "\n".join(leaks[:20])


def test_a_leaders_account_language_decides_pages_and_reports(
    app: Flask,
    session: Session,
    small: SmallJurisdiction,  # noqa: F811
) -> None:
    leader = make_leader(session, small, "lead@lake.test", "Office A")
    client = app.test_client()
    login(client, leader.email)
    assert '<html lang="en"' in client.get("/reports").get_data(as_text=True)
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    saved = client.post("/account", data={"language": "es", "csrf_token": token.group(1)})
    assert saved.status_code == 302
    session.expire_all()
    assert session.get(User, leader.id).language == "es"  # type: ignore[union-attr]
    # No Accept-Language at all: the account's language wins.
    listing = client.get("/reports").get_data(as_text=True)
    assert '<html lang="es"' in listing and "Idioma de los informes" in listing
    team = small.units["Office A / Team 1"]
    link = f"/reports/{small.waves[2026]}/{team}.pdf"
    assert f'{link}?lang=es"' in listing
    spanish = pdf_text(client.get(link).get_data())
    assert "Guía para la conversación del equipo" in spanish
    english = pdf_text(client.get(link + "?lang=en").get_data())
    assert "Guide for the team debrief" in english and "Guía para" not in english


def test_an_unknown_account_language_is_refused_and_nothing_saved(
    app: Flask,
    session: Session,
    small: SmallJurisdiction,  # noqa: F811
) -> None:
    leader = make_leader(session, small, "lead2@lake.test", "Office A")
    client = app.test_client()
    login(client, leader.email)
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    refused = client.post("/account", data={"language": "xx", "csrf_token": token.group(1)})
    assert refused.status_code == 400
    session.expire_all()
    assert session.get(User, leader.id).language is None  # type: ignore[union-attr]


def test_a_spanish_invitation_is_spanish_in_both_parts() -> None:
    invite = mail.Invite(
        to="ana@lake.test",
        language="es",
        reminder=False,
        link="https://survey.test/s/abc",
        closes_at=datetime(2026, 12, 15, tzinfo=UTC) + timedelta(hours=6),
        timezone="America/Chicago",
        jurisdiction="Lake County",
        min_n=5,
        privacy_url="https://survey.test/privacy",
    )
    message = mail.build_message(invite, "survey@lake.test")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Su enlace personal" in text and "Abrir mi encuesta" in page
    # Closing at midnight in Chicago: the last day to answer is the 14th.
    assert squash("14 de diciembre de 2026") in squash(text)
    assert message["Subject"].startswith("Su encuesta de cultura de seguridad")
    assert "Encuesta al personal de Lake County" in message["From"]
    assert not english_in(text) and not english_in(visible_text(page))
    assert '<html lang="es">' in page
    english = mail.build_message(
        mail.Invite(**{**invite.__dict__, "language": "en"}), "survey@lake.test"
    )
    assert "Your personal link" in english.get_body(("plain",)).get_content()  # type: ignore[union-attr]
