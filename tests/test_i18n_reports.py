"""Reports in Spanish: words from the catalog or the instrument's Spanish, numbers the Spanish way.

The report is built from a real wave (the reporting tests' small jurisdiction) with
``language="es"`` and rendered to PDF; its extracted text must contain no English sentence of
the catalog (no msgid fragment of three words or more) and no English wording of the
instrument, and must print numbers with a decimal comma and a spaced percent sign.
"""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

import surveys
from app import catalog
from app.reporting import format as fmt
from app.reporting import render_pdf
from app.reporting.strings import english_msgids
from app.services import reports
from tests.reports.conftest import SmallJurisdiction, small  # noqa: F401 — the fixture

PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s|%s|%d")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("\u00ad", "")


def english_fragments(messages: list[str], *, min_words: int = 3) -> set[str]:
    """The pieces of each English sentence between its placeholders, three words or longer."""
    found = set()
    for message in messages:
        for piece in PLACEHOLDER.split(message.split("|")[0]) + PLACEHOLDER.split(message):
            if len(re.findall(r"[A-Za-z]{2,}", piece)) >= min_words:
                found.add(piece.strip(" .,:;()—-"))
    return found


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def spanish_team(session: Session, small: SmallJurisdiction) -> tuple[object, str]:  # noqa: F811
    team = small.units["Office A / Team 1"]
    ctx = reports.build_context(session, small.waves[2026], team, language="es")
    return ctx, pdf_text(render_pdf(ctx))


def test_spanish_team_report_has_no_english_sentence(spanish_team: tuple[object, str]) -> None:
    _, text = spanish_team
    flat = squash(text)
    instrument = surveys.load_default()
    english = [*english_msgids(), *_instrument_english(instrument)]
    leaks = sorted(f for f in english_fragments(english) if squash(f) in flat)
    assert not leaks, f"English in the Spanish report: {leaks[:5]}"
    # And it really is the Spanish report, not an empty one.
    assert squash(catalog.translate("es", "Guide for the team debrief")) in flat
    assert squash("Guía para la conversación del equipo") in flat


def test_spanish_team_report_prints_numbers_the_spanish_way(
    spanish_team: tuple[object, str],
) -> None:
    ctx, text = spanish_team
    flat = squash(text)
    rate = fmt.pct(ctx.response_rate, "es")  # type: ignore[attr-defined]
    assert re.fullmatch(r"\d+\xa0%", rate)
    assert squash(rate) in flat
    scores = [s.mean for s in ctx.scales if s.mean is not None]  # type: ignore[attr-defined]
    assert scores, "the sample team shows no score"
    spanish_scores = [fmt.score(value, "es") for value in scores]
    assert all("," in value for value in spanish_scores)
    assert any(squash(value) in flat for value in spanish_scores)
    # English decimals ("68.4") would mean a number skipped the locale.
    assert not any(squash(fmt.score(value, "en")) in flat for value in scores if value % 1)


def test_english_fragments_catch_a_sentence() -> None:
    # The detector itself: an untranslated sentence in a Spanish text is found.
    spanish = squash("Resumen. Fewer than 5 answers: not shown. Fin.")
    found = [f for f in english_fragments(["Fewer than {min_n} answers: not shown"])]
    assert found == ["answers: not shown"] and squash(found[0]) in spanish


def _instrument_english(instrument: surveys.Instrument) -> list[str]:
    texts: list[str] = []
    for scale in instrument.scales:
        texts.append(scale.title["en"])
        texts.extend(item.text["en"] for item in scale.items)
    return texts
