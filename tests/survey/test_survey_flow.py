"""The staff survey flow through the test client: arrive, answer, save, submit, refuse bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import (
    BackgroundCount,
    DailyCount,
    Draft,
    Invitation,
    PendingResponse,
    Response,
    Wave,
    WaveStatus,
)
from app.services import responses
from app.services.tokens import hash_token
from tests.conftest import TEST_KEYS
from tests.survey.helpers import (
    INSTRUMENT,
    PAGES,
    arrive,
    complete_survey,
    csrf_of,
    page_csrf,
    section_answers,
    seed_wave,
)


def _stored(session: Session) -> tuple[int, int, int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(PendingResponse)) or 0,
        session.scalar(select(func.count()).select_from(Response)) or 0,
        session.scalar(select(func.count()).select_from(Draft)) or 0,
        session.scalar(select(func.coalesce(func.sum(DailyCount.submissions), 0))) or 0,
    )


def test_link_keeps_the_token_in_the_session_and_redirects_to_a_url_without_it(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session)
    token = seeded.tokens[0]
    response = client.get(f"/s/{token}")
    assert response.status_code == 302
    assert token not in response.headers["Location"]
    welcome = client.get("/s/")
    html = welcome.get_data(as_text=True)
    assert welcome.status_code == 200
    assert token not in html
    assert "/privacy" in html
    assert "at least 5 people" in html  # MIN_REPORT_N in the note before the first question


def test_unknown_token_gets_a_plain_404_page(client: FlaskClient, session: Session) -> None:
    seed_wave(session)
    response = client.get("/s/" + "A" * 43)
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert "A" * 43 not in response.get_data(as_text=True)
    assert client.get("/s/").status_code == 404  # nothing was kept in the session


def test_closed_wave_link_says_when_it_closed(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session, status=WaveStatus.CLOSED)
    wave = session.get(Wave, seeded.wave_id)
    assert wave is not None
    wave.closed_at = datetime(2026, 12, 14, 23, tzinfo=UTC)
    session.commit()
    response = client.get(f"/s/{seeded.tokens[0]}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "closed on 14 December 2026" in html
    assert seeded.tokens[0] not in html  # not even in the language switch


def test_link_past_its_closing_time_counts_as_closed(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session, closes_at=datetime.now(UTC) - timedelta(minutes=1))
    assert client.get(f"/s/{seeded.tokens[0]}").status_code == 410


def test_answered_link_says_already_answered(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session)
    complete_survey(client, seeded.tokens[0])
    response = client.get(f"/s/{seeded.tokens[0]}")
    assert response.status_code == 200
    assert "already answered" in response.get_data(as_text=True)


def test_section_pages_show_fieldsets_progress_and_not_applicable(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    html = client.get("/s/page/2").get_data(as_text=True)
    scale = INSTRUMENT.scales[1]
    assert f"Section 2 of {len(INSTRUMENT.scales)}" in html
    assert html.count("<fieldset") == len(scale.items)
    assert html.count("<legend") == len(scale.items)
    assert html.count('type="radio"') == len(scale.items) * (scale.response_scale.points + 1)
    assert "Does not apply / Don&#39;t know" in html
    assert "<table" not in html
    last = client.get(f"/s/page/{PAGES}").get_data(as_text=True)
    assert "Last page" in last and 'name="comment"' in last and 'value="submit"' in last


def test_complete_survey_stores_one_pooled_answer_and_one_count(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session)
    answers = {"ps1": 5, "ps2": 1, "sc1": 3}
    location = complete_survey(
        client, seeded.tokens[0], answers=answers, background={"role": 2}, comment="More time."
    )
    assert location.endswith("/s/thanks")
    assert "Thank you" in client.get("/s/thanks").get_data(as_text=True)
    assert _stored(session) == (1, 0, 0, 1)
    invitation = session.scalars(
        select(Invitation).where(Invitation.token_hash == hash_token(seeded.tokens[0]))
    ).one()
    assert invitation.completed
    assert responses.move_pool(session, seeded.wave_id, flush_all=True, keys=TEST_KEYS.mix) == 1
    stored = session.scalars(select(Response)).one()
    assert stored.answers == answers
    assert stored.comment == "More time."
    # The role is no longer on the response: it was counted, jurisdiction-wide, by the mover.
    counted = dict(
        session.execute(
            select(BackgroundCount.option, BackgroundCount.count).where(
                BackgroundCount.wave_id == seeded.wave_id, BackgroundCount.question == "role"
            )
        ).all()
    )
    assert counted == {2: 1}


def test_not_applicable_and_skipped_items_are_stored_as_missing(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, 1)
    client.post("/s/page/1", data={"ps1": "na", "ps2": "4", "csrf_token": csrf, "nav": "next"})
    page_one = client.get("/s/page/1").get_data(as_text=True)
    assert 'id="ps1-na" name="ps1" value="na" checked' in page_one  # the draft remembers n/a
    csrf = page_csrf(client, PAGES)
    client.post(f"/s/page/{PAGES}", data={"csrf_token": csrf, "nav": "submit"})
    responses.move_pool(session, seeded.wave_id, flush_all=True, keys=TEST_KEYS.mix)
    assert session.scalars(select(Response.answers)).one() == {"ps2": 4}


def test_second_submit_with_same_token_stores_nothing(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session)
    token = seeded.tokens[0]
    arrive(client, token)
    csrf = page_csrf(client, PAGES)
    form = {"csrf_token": csrf, "nav": "submit", "comment": "first"}
    assert client.post(f"/s/page/{PAGES}", data=form).status_code == 303
    # Back and resubmit, a refresh of the POST, a second device: all meet "already answered".
    again = client.post(f"/s/page/{PAGES}", data=form)
    assert "already answered" in again.get_data(as_text=True)
    other_device = client.application.test_client()
    assert "already answered" in other_device.get(f"/s/{token}").get_data(as_text=True)
    assert _stored(session) == (1, 0, 0, 1)


def test_draft_resumes_on_another_device(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session)
    token = seeded.tokens[0]
    arrive(client, token)
    for number in (1, 2):
        csrf = page_csrf(client, number)
        data = {**section_answers(number, 4), "csrf_token": csrf, "nav": "next"}
        assert client.post(f"/s/page/{number}", data=data).status_code == 303
    phone = client.application.test_client()
    arrive(phone, token)
    resumed = phone.get("/s/")
    assert resumed.status_code == 302 and resumed.headers["Location"].endswith("/s/page/3")
    html = phone.get("/s/page/1").get_data(as_text=True)
    assert html.count(" checked") == len(INSTRUMENT.scales[0].items)


def test_back_saves_and_returns_to_the_previous_section(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, 3)
    response = client.post(
        "/s/page/3", data={**section_answers(3, 2), "csrf_token": csrf, "nav": "back"}
    )
    assert response.headers["Location"].endswith("/s/page/2")
    assert client.get("/s/page/3").get_data(as_text=True).count(" checked") == len(
        INSTRUMENT.scales[2].items
    )


BAD_SECTION_FORMS = {
    "value outside the scale": ({"ps1": "6"}, "Choose one of the answers"),
    "zero": ({"ps1": "0"}, "Choose one of the answers"),
    "not an integer": ({"ps1": "four"}, "Choose one of the answers"),
    "a fraction": ({"ps1": "2.5"}, "Choose one of the answers"),
    "unknown item key": ({"zz9": "3"}, "not on this page"),
    "an item of another section": ({"sc1": "3"}, "not on this page"),
}


@pytest.mark.parametrize("case", list(BAD_SECTION_FORMS))
def test_bad_section_input_is_refused_with_a_message_and_stores_nothing(
    client: FlaskClient, session: Session, case: str
) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, 1)
    fields, message = BAD_SECTION_FORMS[case]
    response = client.post(
        "/s/page/1", data={"ps2": "3", **fields, "csrf_token": csrf, "nav": "next"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in html and message in html
    assert 'href="#ps1-1"' in html  # the summary links to the field
    assert _stored(session) == (0, 0, 0, 0)


def test_a_repeated_field_is_refused(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, 1)
    response = client.post("/s/page/1", data={"ps1": ["2", "4"], "csrf_token": csrf, "nav": "next"})
    assert response.status_code == 400
    assert "more than once" in response.get_data(as_text=True)
    assert _stored(session) == (0, 0, 0, 0)


def test_bad_submit_stores_nothing(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, PAGES)
    response = client.post(
        f"/s/page/{PAGES}", data={"role": "9", "csrf_token": csrf, "nav": "submit"}
    )
    assert response.status_code == 400
    assert _stored(session) == (0, 0, 0, 0)
    assert not session.scalars(select(Invitation.completed)).first()


def test_long_comment_is_refused_not_truncated(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, PAGES)
    response = client.post(
        f"/s/page/{PAGES}", data={"comment": "x" * 2001, "csrf_token": csrf, "nav": "submit"}
    )
    assert response.status_code == 400
    assert "2001 characters; the limit is 2000" in response.get_data(as_text=True)
    assert _stored(session) == (0, 0, 0, 0)


def test_comment_control_characters_are_stripped_and_html_escaped(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, PAGES)
    comment = "<script>alert(1)</script>\x00 a\x07b\r\nline\u202e"
    client.post(f"/s/page/{PAGES}", data={"comment": comment, "csrf_token": csrf, "nav": "back"})
    html = client.get(f"/s/page/{PAGES}").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ab\nline" in html
    csrf = csrf_of(html)
    client.post(f"/s/page/{PAGES}", data={"comment": comment, "csrf_token": csrf, "nav": "submit"})
    responses.move_pool(session, seeded.wave_id, flush_all=True, keys=TEST_KEYS.mix)
    assert session.scalars(select(Response.comment)).one() == "<script>alert(1)</script> ab\nline"


def test_body_over_64_kib_on_survey_routes_is_refused_with_413(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, PAGES)
    response = client.post(
        f"/s/page/{PAGES}",
        data={"comment": "y" * (65 * 1024), "csrf_token": csrf, "nav": "submit"},
    )
    assert response.status_code == 413
    assert _stored(session) == (0, 0, 0, 0)


@pytest.mark.parametrize("csrf", [None, "", "forged", "ñ" * 43, "other session"])
def test_post_without_a_valid_csrf_token_is_refused(
    app: Flask, client: FlaskClient, session: Session, csrf: str | None
) -> None:
    seeded = seed_wave(session)
    if csrf == "other session":
        # A token read by someone else's browser (the attacker's own link) is worth nothing here.
        other = app.test_client()
        arrive(other, seeded.tokens[1])
        csrf = page_csrf(other, PAGES)
    arrive(client, seeded.tokens[0])
    page_csrf(client, PAGES)  # this session has a token of its own
    data = {"nav": "submit"} if csrf is None else {"nav": "submit", "csrf_token": csrf}
    response = client.post(f"/s/page/{PAGES}", data=data)
    assert response.status_code == 400
    assert "could not be accepted" in response.get_data(as_text=True)
    assert _stored(session) == (0, 0, 0, 0)


def test_a_page_left_open_for_hours_still_saves(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone who opens a section, goes to lunch and answers it afterwards keeps those answers:
    the form's token lasts as long as the browser session, not one hour."""
    import time

    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, 1)
    later = time.time() + 3 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.post(
        "/s/page/1", data={**section_answers(1, 4), "csrf_token": csrf, "nav": "next"}
    )
    assert response.status_code == 303
    assert session.scalar(select(func.count()).select_from(Draft)) == 1


def test_submit_after_the_wave_closed_shows_the_closed_page(
    client: FlaskClient, session: Session
) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, PAGES)  # the page was opened while the wave was open
    session.execute(update(Wave).where(Wave.id == seeded.wave_id).values(status=WaveStatus.CLOSED))
    session.commit()
    response = client.post(f"/s/page/{PAGES}", data={"csrf_token": csrf, "nav": "submit"})
    assert response.status_code == 410
    assert "This survey is closed" in response.get_data(as_text=True)
    assert _stored(session) == (0, 0, 0, 0)
    assert not session.scalars(select(Invitation.completed)).first()


def test_service_refuses_a_submit_to_a_closed_wave(session: Session) -> None:
    seeded = seed_wave(session, status=WaveStatus.CLOSED)
    with pytest.raises(responses.WaveClosed):
        responses.submit_response(
            session, seeded.tokens[0], responses.Answers({}, {}), mix_public=TEST_KEYS.mix_public
        )
    assert _stored(session) == (0, 0, 0, 0)


def test_service_refuses_answers_outside_the_instrument(session: Session) -> None:
    seeded = seed_wave(session)
    for answers in (
        responses.Answers({"ps1": 6}, {}),
        responses.Answers({"nope": 1}, {}),
        responses.Answers({}, {"role": 0}),
    ):
        with pytest.raises(responses.InvalidAnswers):
            responses.submit_response(
                session, seeded.tokens[0], answers, mix_public=TEST_KEYS.mix_public
            )
    assert _stored(session) == (0, 0, 0, 0)


def test_pages_send_the_security_headers(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session)
    first = client.get(f"/s/{seeded.tokens[0]}")
    for response in (first, client.get("/s/page/1"), client.get("/privacy")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_have_no_inline_script_or_style(client: FlaskClient, session: Session) -> None:
    seeded = seed_wave(session)
    arrive(client, seeded.tokens[0])
    for path in ("/s/", "/s/page/1", f"/s/page/{PAGES}", "/privacy", "/s/thanks"):
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html and "style=" not in html and "<style" not in html, path


def test_session_cookie_is_secure_outside_development(tmp_path: object) -> None:
    from app import create_app

    app = create_app(
        {
            "SECRET_KEY": "k" * 40,
            "APP_ENV": "production",
            "DATABASE_URL": "sqlite://",
            **TEST_KEYS.settings(),
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_language_follows_the_invitation_over_the_browser_then_the_switch(
    client: FlaskClient, session: Session
) -> None:
    from sqlalchemy import update

    from app.models import Invitation

    seeded = seed_wave(session)
    # The invitation was in Spanish: that decides, whatever the browser prefers.
    session.execute(update(Invitation).values(language="es"))
    session.commit()
    client.get(f"/s/{seeded.tokens[0]}", headers={"Accept-Language": "en-US,en;q=0.9"})
    html = client.get("/s/page/1").get_data(as_text=True)
    assert '<html lang="es">' in html and "Sección 1 de 8" in html
    assert "Muy de acuerdo" in html and "Read in English" in html
    english = client.get("/s/page/1?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Section 1 of 8" in english
    assert "Section 1 of 8" in client.get("/s/page/1").get_data(as_text=True)  # remembered


def test_privacy_page_comes_from_the_running_configuration(app: Flask, client: FlaskClient) -> None:
    app.config["MIN_REPORT_N"] = 7
    html = client.get("/privacy").get_data(as_text=True)
    assert "fewer than 7 people" in html
    assert "erased when the survey closes" in html
    assert "<strong>whether</strong> you answered" in html
    spanish = client.get("/privacy?lang=es").get_data(as_text=True)
    assert "menos de 7 personas" in spanish


def test_unknown_links_are_rate_limited_and_valid_ones_are_not(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    app.config["SURVEY_LINK_RATE_LIMIT"] = "3 per minute"
    seeded = seed_wave(session, invitations=6)
    for token in seeded.tokens:  # valid links never count
        assert client.get(f"/s/{token}").status_code == 302
    codes = [client.get("/s/" + f"{n:02d}" * 20).status_code for n in range(5)]
    assert codes == [404, 404, 404, 429, 429]
    assert "Too many attempts" in client.get("/s/" + "Z" * 40).get_data(as_text=True)
