"""The survey opens in the invitation's language and keeps the person's own choice."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import Invitation
from tests.survey.helpers import arrive, page_csrf, section_answers, seed_wave


def _spanish_invitation(session: Session, wave_id: int) -> None:
    session.execute(update(Invitation).where(Invitation.wave_id == wave_id).values(language="es"))
    session.commit()


def test_a_spanish_invitation_opens_the_survey_in_spanish_whatever_the_browser_says(
    app: Flask, session: Session
) -> None:
    seeded = seed_wave(session)
    _spanish_invitation(session, seeded.wave_id)
    client = app.test_client()
    client.get(f"/s/{seeded.tokens[0]}", headers={"Accept-Language": "en-US,en;q=0.9"})
    page = client.get("/s/").get_data(as_text=True)
    assert "Empezar la encuesta" in page and 'lang="es"' in page


def test_a_language_chosen_on_the_pages_is_kept_when_the_link_is_opened_again(
    app: Flask, session: Session
) -> None:
    seeded = seed_wave(session)
    _spanish_invitation(session, seeded.wave_id)
    token = seeded.tokens[0]
    first = app.test_client()
    arrive(first, token)
    assert 'lang="es"' in first.get("/s/page/1").get_data(as_text=True)
    # Switching to English on a page, without saving any answer yet.
    assert 'lang="en"' in first.get("/s/page/1?lang=en").get_data(as_text=True)
    other_device = app.test_client()
    arrive(other_device, token)
    # The switch saved a draft at page 1: the link resumes there, in English.
    resumed = other_device.get("/s/", follow_redirects=True).get_data(as_text=True)
    assert 'lang="en"' in resumed and "Section 1 of 8" in resumed
    # Answering a page in English and switching back to Spanish later is kept as well.
    csrf = page_csrf(other_device, 1)
    other_device.post(
        "/s/page/1", data={**section_answers(1, 4), "csrf_token": csrf, "nav": "next"}
    )
    other_device.get("/s/page/2?lang=es")
    third = app.test_client()
    arrive(third, token)
    assert 'lang="es"' in third.get("/s/page/2").get_data(as_text=True)


def test_a_language_in_the_link_itself_wins(app: Flask, session: Session) -> None:
    seeded = seed_wave(session)
    _spanish_invitation(session, seeded.wave_id)
    client = app.test_client()
    client.get(f"/s/{seeded.tokens[0]}?lang=en")
    assert "Start the survey" in client.get("/s/").get_data(as_text=True)
