"""The survey pages' own words: a key per sentence and its English msgid (the catalog translates).

The instrument brings its questions (bilingual in its YAML); these are the sentences around
them. Views and forms ask for a sentence by key, in the page's language (:func:`word`); the
translations live in the gettext catalog (``app/translations``). New sentence: add
``"key": N_("English")`` here, then ``make translations``.
"""

from __future__ import annotations

from datetime import date

from babel import Locale

from app import catalog
from app.catalog import N_
from app.dates import long_date

TEXT: dict[str, str] = {
    "skip": N_("Skip to the questions"),
    "privacy_link": N_("Privacy: what we store"),
    "section_of": N_("Section {n} of {total}"),
    "last_page_of": N_("Last page ({n} of {total})"),
    "about_you": N_("About you (optional)"),
    "about_you_hint": N_("These questions help compare groups. Skip any of them."),
    "comment_hint": N_("Up to {max} characters. Optional."),
    "optional_all": N_("Every question is optional: skip any you prefer not to answer."),
    "back": N_("Back"),
    "next": N_("Save and continue"),
    "submit": N_("Send my answers"),
    "start": N_("Start the survey"),
    "resume": N_("Continue where I stopped"),
    "before_you_start": N_("Before you start"),
    "note_stored": (
        N_(
            "We store your answers without your name, email or any link to your invitation. "
            "We do not store when you answered, your device, or your internet address."
        )
    ),
    "note_threshold": (
        N_(
            "Results are shown only for groups of at least {n} people, and written comments "
            "only for groups of at least {comment_n}."
        )
    ),
    "note_draft": (
        N_(
            "Your answers are saved, locked with your personal link, each time you go to the "
            "next section. Open the link again on any device to continue."
        )
    ),
    "note_reminders": (
        N_(
            "Reminder emails go only to people who have not answered yet, so the survey office "
            "can tell whether you answered, but never what you answered."
        )
    ),
    "more_privacy": N_("How your privacy is protected"),
    "error_title": N_("There is a problem"),
    "error_intro": N_("Nothing on this page was saved. Please check:"),
    "err_value": N_("Choose one of the answers listed for this question."),
    "err_repeated": N_("This question was answered more than once. Choose one answer."),
    "err_unknown": N_("The form contained a question that is not on this page."),
    "err_comment_long": (
        N_("Your comment has {length} characters; the limit is {max}. Please shorten it.")
    ),
    "err_nav": N_("The form was sent in an unexpected way. Please use the buttons below."),
    "closed_title": N_("This survey is closed"),
    "closed_body": N_("The survey closed on {date}. Answers can no longer be sent. Thank you."),
    "unavailable_title": N_("Please try again in a moment"),
    "unavailable_body": (
        N_(
            "The survey lost its connection for a moment. Your answers are kept: nothing was "
            "half saved. Please go back and send the page again in a few seconds."
        )
    ),
    "done_title": N_("You have already answered"),
    "done_body": N_("You have already answered this survey. Thank you for taking part."),
    "thanks_title": N_("Thank you"),
    "thanks_body": (
        N_(
            "Your answers have been received. They are stored without your name and will be "
            "shown only as part of group results."
        )
    ),
    "thanks_close": N_("You can now close this page."),
    "notfound_title": N_("Page not found"),
    "notfound_body": (
        N_(
            "We could not find this page. If you followed a survey link, open it again from "
            "your email, copying the whole address."
        )
    ),
    "nolink_title": N_("Open your personal link"),
    "nolink_body": N_("To answer the survey, open the personal link from your invitation email."),
    "badrequest_title": N_("The form could not be accepted"),
    "badrequest_body": (
        N_(
            "The page had expired or the form was incomplete. Nothing was saved. Please go back, "
            "reload the page and try again."
        )
    ),
    "toolarge_title": N_("Too much text"),
    "toolarge_body": N_("The form sent more data than a survey page accepts. Nothing was saved."),
    "ratelimit_title": N_("Too many attempts"),
    "ratelimit_body": (
        N_(
            "Too many survey links were tried from your connection. Please wait a few minutes "
            "and open your link again."
        )
    ),
    "not_applicable_default": N_("Does not apply / Don't know"),
    "privacy_title": N_("Privacy in the staff survey"),
}


def word(language: str, key: str, **values: object) -> str:
    """The sentence ``key`` in ``language``, with ``{name}`` placeholders filled in."""
    text = catalog.translate(language, TEXT[key])
    return text.format(**values) if values else text


def switch_label(language: str) -> str:
    """The link to ``language``, written in it: "Read in English", "Leer en español"."""
    name = Locale.parse(language).get_display_name(language) or language
    return catalog.translate(language, SWITCH).format(language=name)


SWITCH = N_("Read in {language}")


def format_date(day_month_year: tuple[int, int, int], language: str) -> str:
    """A date in words: '14 December 2026' / '14 de diciembre de 2026'."""
    day, month, year = day_month_year
    return long_date(date(year, month, day), language)
