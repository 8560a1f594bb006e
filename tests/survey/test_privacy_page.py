"""The privacy page states the visitor's own wave's thresholds, not the server's defaults."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import Wave
from tests.survey.helpers import arrive, seed_wave


def _text(client: FlaskClient) -> str:
    html = client.get("/privacy").get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_visitor_with_a_link_reads_their_waves_own_thresholds(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session, invitations=1, pool_k=4)
    session.execute(update(Wave).where(Wave.id == seeded.wave_id).values(min_report_n=7))
    session.commit()
    defaults = _text(client)  # no link yet: the defaults a new wave gets (5 and 10)
    assert "fewer than 5 people" in defaults and "Once 20 are waiting, 10" in defaults
    arrive(client, seeded.tokens[0])
    page = _text(client)
    assert "This page describes your survey" in page
    assert "fewer than 7 people" in page and "fewer than 5 people" not in page
    assert "Once 8 are waiting, 4 chosen at random" in page
    assert "fewer than 4 people answer, that last move holds only their answers" in page
    assert "staff list" in page and "mixing job's key" in page


def test_the_spanish_page_has_the_same_thresholds(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session, invitations=1, pool_k=3)
    arrive(client, seeded.tokens[0])
    client.get("/privacy?lang=es")
    page = _text(client)
    assert "Cuando esperan 6, se mueven 3" in page
    assert "menos de 5 personas" in page
