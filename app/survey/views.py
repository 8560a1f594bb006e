"""Survey routes: arrive by link, answer section by section, submit once; the privacy page."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import replace
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import NotFound, RequestEntityTooLarge, TooManyRequests

import surveys
from app import keys, ratelimit, tasks
from app.db import get_session
from app.i18n import languages
from app.services import responses
from app.services.drafts import DraftState
from app.services.responses import (
    AlreadySubmitted,
    Answers,
    InvalidAnswers,
    InvalidToken,
    WaveClosed,
)
from app.survey import forms
from app.survey.text import format_date, switch_label, word

bp = Blueprint("survey", __name__, template_folder="templates")

TOKEN_KEY = "survey_token"
LANGUAGE_KEY = "lang"
#: The session's own random form token (see ``_check_form_token``).
FORM_TOKEN_KEY = "survey_form_token"


# --- forged posts ---------------------------------------------------------------------------


def _form_token() -> str:
    """This browser session's form token, made on first use (the link makes one on arrival)."""
    token = session.get(FORM_TOKEN_KEY)
    if not isinstance(token, str):
        token = session[FORM_TOKEN_KEY] = secrets.token_urlsafe(32)
    return token


@bp.before_request
def _check_form_token() -> None:
    """Refuse a POST whose form does not carry this session's token (cross-site forgery).

    The survey pages are left out of Flask-WTF's signed, timed tokens: the session cookie is
    already signed, so a random token kept in it and echoed by the form proves the same thing
    (only a page of this site, read in this browser, can know it), costs one comparison instead
    of a signature check on every page, and never expires while the session lives, so a person
    who pauses for lunch in the middle of a section does not lose it to "token expired".
    """
    if request.method != "POST" or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    expected = session.get(FORM_TOKEN_KEY)
    sent = request.form.get("csrf_token")
    if not (
        isinstance(expected, str)
        and sent
        and hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode())
    ):
        raise CSRFError("The form token is missing or does not match this session.")


# --- language -------------------------------------------------------------------------------


@bp.before_request
def _choose_language() -> None:
    """``?lang=`` switches the language and is remembered in the session."""
    wanted = request.args.get("lang")
    if wanted in languages():
        session[LANGUAGE_KEY] = wanted
        g.lang = wanted
        if request.endpoint != "survey.arrive":
            _remember_language(wanted)


def _remember_language(language: str) -> None:
    """Keep the choice in the person's sealed draft, so the link reopens in it anywhere."""
    token = session.get(TOKEN_KEY)
    if not isinstance(token, str):
        return
    db = get_session()
    try:
        draft = responses.find_progress(db, token)
        if draft is not None and draft.language == language:
            return
        state = replace(draft, language=language) if draft else DraftState(language=language)
        responses.save_progress(db, token, state)
    except responses.SurveyError:
        db.rollback()  # answered, closed or unknown: the page itself says so


def _language() -> str:
    """The session's language, else the browser's preference (English by default)."""
    if "lang" not in g:
        language = session.get(LANGUAGE_KEY)
        if language not in languages():
            language = request.accept_languages.best_match(languages(), default=languages()[0])
        g.lang = language
    chosen: str = g.lang
    return chosen


@bp.context_processor
def _survey_words() -> dict[str, Any]:
    language = _language()

    def t(key: str, **values: object) -> str:
        return word(language, key, **values)

    def switch_url(other: str) -> str:
        # The same page in another language; never the link itself (/s/<token>).
        endpoint, args = request.endpoint, dict(request.view_args or {})
        if endpoint == "survey.save_page":
            endpoint = "survey.page"
        elif endpoint not in {"survey.page", "survey.resume", "survey.thanks", "survey.privacy"}:
            endpoint, args = "survey.resume", {}
        return url_for(endpoint, **args, lang=other)

    def language_links() -> list[tuple[str, str, str]]:
        """(language, "Read in …" written in it, URL) for every other configured language."""
        return [
            (other, switch_label(other), switch_url(other))
            for other in languages()
            if other != language
        ]

    return {
        "t": t,
        "page_lang": language,
        "language_links": language_links,
        "form_token": _form_token,
    }


# --- helpers --------------------------------------------------------------------------------


def _token() -> str:
    token = session.get(TOKEN_KEY)
    if not isinstance(token, str):
        raise _NoLink
    return token


class _NoLink(Exception):
    """No survey link in this browser's session."""


def _instrument_words(instrument: surveys.Instrument) -> dict[str, Any]:
    language = _language()
    return {
        "title": instrument.title.get(language) or next(iter(instrument.title.values())),
        "intro": (instrument.intro or {}).get(language),
    }


# --- routes ---------------------------------------------------------------------------------


@bp.get("/s/<token>")
def arrive(token: str) -> ResponseReturnValue:
    """Check the link, keep its token in the signed session, and leave the URL that holds it."""
    try:
        # The invitation and the draft in one query.
        progress = responses.read_progress(get_session(), token)
    except InvalidToken:
        # Only unknown links are counted, and only here: a valid link always opens.
        ratelimit.count_unknown_link()
        raise
    participation, draft = progress.participation, progress.draft
    asked = request.args.get("lang")
    if asked in languages():
        language = asked  # a language chosen in the link itself
    elif draft is not None and draft.language in languages():
        language = draft.language  # what the person chose last time, on whatever device
    elif participation.language in languages():
        language = participation.language  # the language of the invitation email
    else:
        language = _language()
    session.clear()
    session[TOKEN_KEY] = token
    session[LANGUAGE_KEY] = language
    session[FORM_TOKEN_KEY] = secrets.token_urlsafe(32)
    return redirect(url_for("survey.resume"))


@bp.get("/s/")
def resume() -> ResponseReturnValue:
    """The welcome page, or the page where a saved draft stopped."""
    token = _token()
    progress = responses.read_progress(get_session(), token)
    if progress.draft is not None:
        return redirect(url_for("survey.page", number=progress.draft.page))
    instrument = progress.participation.instrument
    return render_template(
        "survey/welcome.html",
        instrument=_instrument_words(instrument),
        min_report_n=progress.participation.min_report_n,
        comment_n=instrument.comment.min_report_n if instrument.comment else None,
        total=len(instrument.scales),
    )


@bp.get("/s/page/<int:number>")
def page(number: int) -> ResponseReturnValue:
    """One section of the survey (or the last page), with any saved answers selected."""
    token = _token()
    progress = responses.read_progress(get_session(), token)
    instrument = progress.participation.instrument
    if not 1 <= number <= len(instrument.scales) + 1:
        abort(404)
    survey_page = forms.build_page(instrument, number, _language(), progress.draft)
    return _render_page(survey_page, instrument)


@bp.post("/s/page/<int:number>")
def save_page(number: int) -> ResponseReturnValue:
    """Save a section and go on (or back); on the last page, send the answers."""
    token = _token()
    db = get_session()
    # One query for the invitation and the draft; the draft keys are derived once per request.
    # A submit reads them with its lock, so it need not read the invitation a second time.
    progress = responses.get_progress(db, token, for_submit=request.form.get("nav") == "submit")
    instrument, draft = progress.participation.instrument, progress.draft
    if not 1 <= number <= len(instrument.scales) + 1:
        abort(404)
    survey_page = forms.build_page(instrument, number, _language(), draft)
    if not forms.parse_page(survey_page, request.form):
        return _render_page(survey_page, instrument), 400
    if survey_page.navigation == "submit":
        merged = forms.merge_into_draft(survey_page, draft, number, _language())
        answers = Answers(
            items={k: v for k, v in merged.answers.items() if isinstance(v, int)},
            background=merged.background,
            comment=merged.comment,
            language=_language(),
        )
        submitted = responses.submit_response(
            db, token, answers, mix_public=keys.mix_public(), progress=progress
        )
        if submitted.pool_ready:
            # The web tier cannot open the pool: the mixer job (which holds the key) moves it.
            tasks.request_mix(current_app, submitted.wave_id)
        return redirect(url_for("survey.thanks"), 303)
    next_page = number - 1 if survey_page.navigation == "back" else number + 1
    next_page = max(1, next_page)
    state = forms.merge_into_draft(survey_page, draft, next_page, _language())
    responses.save_progress(db, token, state, progress=progress)
    return redirect(url_for("survey.page", number=next_page), 303)


@bp.get("/s/thanks")
def thanks() -> ResponseReturnValue:
    return render_template("survey/message.html", kind="thanks")


@bp.get("/privacy")
def privacy() -> ResponseReturnValue:
    """What is stored and who holds what: the wave's own thresholds when the visitor came by a
    link (else the defaults new waves get), and whether this web process holds the mix key."""
    instrument = surveys.load_default()
    config = current_app.config
    token = session.get(TOKEN_KEY)
    terms = responses.find_wave_terms(get_session(), token) if isinstance(token, str) else None
    return render_template(
        "survey/privacy.html",
        min_report_n=terms.min_report_n if terms else config["MIN_REPORT_N"],
        pool_k=terms.pool_k if terms else config["POOL_K"],
        for_your_survey=terms is not None,
        mix_key_in_web=bool(config.get("MIX_KEY_IN_WEB")),
        demo=keys.role() == "demo",
        comment_n=instrument.comment.min_report_n if instrument.comment else None,
        max_comment=instrument.comment.max_length if instrument.comment else None,
    )


def _render_page(survey_page: forms.SurveyPage, instrument: surveys.Instrument) -> str:
    return render_template(
        "survey/page.html",
        page=survey_page,
        instrument=_instrument_words(instrument),
        scale_title=(
            survey_page.scale.title.get(_language()) or next(iter(survey_page.scale.title.values()))
            if survey_page.scale
            else None
        ),
    )


# --- outcomes that are not the happy path ------------------------------------------------------


def _message(kind: str, status: int, **values: Any) -> ResponseReturnValue:
    return render_template("survey/message.html", kind=kind, **values), status


@bp.errorhandler(_NoLink)
def _no_link(_error: _NoLink) -> ResponseReturnValue:
    return _message("nolink", 404)


@bp.errorhandler(InvalidToken)
def _invalid_token(_error: InvalidToken) -> ResponseReturnValue:
    return _message("notfound", 404)


@bp.errorhandler(NotFound)
def _not_found(_error: NotFound) -> ResponseReturnValue:
    return _message("notfound", 404)


@bp.errorhandler(AlreadySubmitted)
def _already_submitted(_error: AlreadySubmitted) -> ResponseReturnValue:
    return _message("done", 200)


@bp.errorhandler(WaveClosed)
def _wave_closed(error: WaveClosed) -> ResponseReturnValue:
    from zoneinfo import ZoneInfo

    local = error.closed_on.astimezone(ZoneInfo(error.timezone))
    closed_on = format_date((local.day, local.month, local.year), _language())
    return _message("closed", 410, closed_on=closed_on)


@bp.errorhandler(InvalidAnswers)
def _invalid_answers(_error: InvalidAnswers) -> ResponseReturnValue:
    return _message("badrequest", 400)


@bp.errorhandler(CSRFError)
def _csrf_error(_error: CSRFError) -> ResponseReturnValue:
    return _message("badrequest", 400)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    return _message("toolarge", 413)


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> ResponseReturnValue:
    return _message("ratelimit", 429)
