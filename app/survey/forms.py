"""The survey pages as forms built from the instrument: fields, strict parsing, error messages.

Parsing is strict on purpose: a value outside the response scale, an unknown field, a field sent
twice or a comment over the limit make the whole page invalid and nothing is saved (a browser
never sends such a form; a tampered one is refused rather than half-accepted).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

import surveys
from app.services.drafts import DraftState, DraftValue
from app.survey.text import word

NOT_APPLICABLE = "na"
NAVIGATION = "nav"
ALWAYS_ALLOWED = frozenset({"csrf_token", NAVIGATION})
COMMENT_FIELD = "comment"
# C0 and C1 control characters except tab and newline; also the Unicode line/paragraph breaks
# and bidirectional overrides, which can disguise text where a comment is shown.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    input_id: str


@dataclass
class Question:
    """One fieldset: a legend, its radio buttons, the current choice and an error message."""

    name: str
    legend: str
    choices: tuple[Choice, ...]
    selected: str | None = None
    error: str | None = None

    @property
    def anchor(self) -> str:
        return self.choices[0].input_id


@dataclass
class PageError:
    anchor: str
    message: str


@dataclass
class SurveyPage:
    """Page ``number`` of an instrument (1..scales, then the last page) in one language."""

    instrument: surveys.Instrument
    number: int
    language: str
    questions: list[Question] = field(default_factory=list)
    comment: str = ""
    comment_error: str | None = None
    errors: list[PageError] = field(default_factory=list)
    navigation: str = "next"

    @property
    def total(self) -> int:
        return len(self.instrument.scales) + 1

    @property
    def is_last(self) -> bool:
        return self.number == self.total

    @property
    def scale(self) -> surveys.Scale | None:
        return None if self.is_last else self.instrument.scales[self.number - 1]

    @property
    def comment_question(self) -> surveys.CommentQuestion | None:
        return self.instrument.comment if self.is_last else None

    @property
    def max_comment(self) -> int:
        question = self.instrument.comment
        return question.max_length if question else 0

    @property
    def allowed_navigation(self) -> tuple[str, ...]:
        return ("back", "submit") if self.is_last else ("back", "next")


def _text(texts: surveys.Text, language: str) -> str:
    return texts.get(language) or next(iter(texts.values()))


def _word(language: str, key: str, **values: object) -> str:
    return word(language, key, **values)


def build_page(
    instrument: surveys.Instrument, number: int, language: str, draft: DraftState | None
) -> SurveyPage:
    """The page's questions, with the draft's answers selected."""
    page = SurveyPage(instrument, number, language)
    draft = draft or DraftState()
    scale = page.scale
    if scale is not None:
        response_scale = scale.response_scale
        labels = response_scale.labels.get(language) or next(iter(response_scale.labels.values()))
        for item in scale.items:
            choices = [
                Choice(str(point), labels[point - 1], f"{item.key}-{point}")
                for point in range(1, response_scale.points + 1)
            ]
            if response_scale.not_applicable:
                choices.append(
                    Choice(
                        NOT_APPLICABLE,
                        _text(response_scale.not_applicable, language),
                        f"{item.key}-{NOT_APPLICABLE}",
                    )
                )
            saved = draft.answers.get(item.key)
            page.questions.append(
                Question(
                    item.key,
                    _text(item.text, language),
                    tuple(choices),
                    None if saved is None else str(saved),
                )
            )
    else:
        for question in instrument.background:
            options = question.options.get(language) or next(iter(question.options.values()))
            page.questions.append(
                Question(
                    question.key,
                    _text(question.text, language),
                    tuple(
                        Choice(str(i), option, f"{question.key}-{i}")
                        for i, option in enumerate(options, start=1)
                    ),
                    None
                    if question.key not in draft.background
                    else str(draft.background[question.key]),
                )
            )
        page.comment = draft.comment or ""
    return page


def clean_comment(raw: str) -> str:
    """Normalise newlines, strip control characters and surrounding blanks."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text).strip()


def parse_page(page: SurveyPage, formdata: MultiDict[str, str]) -> bool:
    """Read a posted page into ``page`` (selections, comment, navigation); False if invalid."""
    language = page.language
    names = {q.name for q in page.questions}
    if page.comment_question is not None:
        names.add(COMMENT_FIELD)
    unknown = [key for key in formdata if key not in names and key not in ALWAYS_ALLOWED]
    if unknown:
        anchor = page.questions[0].anchor if page.questions else "main"
        page.errors.append(PageError(anchor, _word(language, "err_unknown")))
    navigation = formdata.getlist(NAVIGATION)
    if len(navigation) != 1 or navigation[0] not in page.allowed_navigation:
        page.errors.append(PageError("navigation", _word(language, "err_nav")))
    else:
        page.navigation = navigation[0]
    for question in page.questions:
        values = formdata.getlist(question.name)
        if not values:
            question.selected = None
            continue
        if len(values) > 1:
            question.error = _word(language, "err_repeated")
            question.selected = None
        elif values[0] not in {choice.value for choice in question.choices}:
            question.error = _word(language, "err_value")
            question.selected = None
        else:
            question.selected = values[0]
        if question.error:
            page.errors.append(PageError(question.anchor, question.error))
    if page.comment_question is not None:
        comments = formdata.getlist(COMMENT_FIELD)
        if len(comments) > 1:
            page.comment_error = _word(language, "err_repeated")
        else:
            page.comment = clean_comment(comments[0]) if comments else ""
            if len(page.comment) > page.max_comment:
                page.comment_error = _word(
                    language, "err_comment_long", length=len(page.comment), max=page.max_comment
                )
        if page.comment_error:
            page.errors.append(PageError(COMMENT_FIELD, page.comment_error))
    return not page.errors


def merge_into_draft(
    page: SurveyPage, draft: DraftState | None, next_page: int, language: str | None = None
) -> DraftState:
    """The draft with this page's selections replacing whatever it held for them."""
    draft = draft or DraftState()
    answers: dict[str, DraftValue] = dict(draft.answers)
    background = dict(draft.background)
    comment = draft.comment
    for question in page.questions:
        target: dict[str, DraftValue] | dict[str, int] = answers if not page.is_last else background
        target.pop(question.name, None)
        if question.selected is None:
            continue
        if page.is_last:
            background[question.name] = int(question.selected)
        elif question.selected == NOT_APPLICABLE:
            answers[question.name] = NOT_APPLICABLE
        else:
            answers[question.name] = int(question.selected)
    if page.is_last:
        comment = page.comment or None
    return DraftState(
        page=next_page,
        answers=answers,
        background=background,
        comment=comment,
        language=language or draft.language,
    )
