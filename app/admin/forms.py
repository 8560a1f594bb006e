"""Forms of the administration pages (every one CSRF-protected through Flask-WTF)."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app import catalog


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that changes something: only the CSRF token."""


class JurisdictionForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Short name (in URLs and the CLI)"), validators=[DataRequired(), Length(max=64)]
    )


def _language_choices() -> list[SelectChoice]:
    """Every language with a catalog, named in itself ("English", "Español")."""
    return [SelectChoice(code, catalog.language_name(code)) for code in catalog.catalog_languages()]


_ROLES = (
    SelectChoice("leader", _l("Leader (reads reports of its units)")),
    SelectChoice("jurisdiction_admin", _l("Jurisdiction administrator")),
    SelectChoice("national", _l("National coordinator")),
)


def role_choices(*, national: bool) -> list[SelectChoice]:
    """The roles this actor may grant: only the national coordinator makes national accounts."""
    return [c for c in _ROLES if national or c.value != "national"]


class UserForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    role = SelectField(_l("Role"), choices=list(_ROLES))
    jurisdiction = SelectField(_l("Jurisdiction"), coerce=int, validate_choice=False, default=0)
    units = TextAreaField(_l("Units (leaders: one path per line, e.g. Region 3 / Office A)"))
    password = PasswordField(
        _l("Initial password (leave empty to send an invitation by email instead)"),
        validators=[Optional(), Length(min=12, max=200)],
    )


class RosterUploadForm(FlaskForm):  # type: ignore[misc]
    file = FileField(_l("Roster file (.csv or .xlsx, at most 20 MB)"), validators=[FileRequired()])


class RosterConfirmForm(FlaskForm):  # type: ignore[misc]
    staged = HiddenField(validators=[DataRequired()])
    checksum = HiddenField(validators=[DataRequired()])


def _not_before_today(form: FlaskForm, field: DateField) -> None:
    # A day or so of slack: the administrator's today may be behind the server's in UTC.
    if field.data is not None and field.data < date.today() - timedelta(days=1):
        raise ValidationError("The closing day has already passed.")


def _after_opening(form: FlaskForm, field: DateField) -> None:
    opens = getattr(form, "opens", None)
    if field.data and opens is not None and opens.data and field.data < opens.data:
        raise ValidationError("The wave must close on or after the day it opens.")


class WaveForm(FlaskForm):  # type: ignore[misc]
    year = IntegerField(
        _l("Year"), default=lambda: date.today().year, validators=[NumberRange(2000, 2100)]
    )
    instrument = SelectField(_l("Instrument"), validate_choice=False)
    opens = DateField(_l("Opens on"), default=date.today, validators=[DataRequired()])
    closes = DateField(
        _l("Closes at the end of"),
        default=lambda: date.today() + timedelta(days=21),
        validators=[DataRequired(), _not_before_today, _after_opening],
    )
    timezone = StringField(
        _l("Time zone"), default="America/Chicago", validators=[DataRequired(), Length(max=64)]
    )
    reminder_max = IntegerField(
        _l("At most this many reminders"), default=2, validators=[NumberRange(0, 10)]
    )
    reminder_min_days = IntegerField(
        _l("At least this many days apart"), default=7, validators=[NumberRange(0, 60)]
    )
    min_report_n = IntegerField(
        _l("Smallest group shown in results"),
        default=5,
        validators=[Optional(), NumberRange(3, 100)],
    )
    pool_k = IntegerField(
        _l("Shuffle pool size"), default=10, validators=[Optional(), NumberRange(2, 100)]
    )


class WaveEditForm(FlaskForm):  # type: ignore[misc]
    """A draft's settings; for an open wave only the closing day and reminders are used."""

    # InputRequired, not DataRequired: the latter would replace "Not a valid date value".
    opens = DateField(_l("Opens on"), validators=[InputRequired()])
    closes = DateField(
        _l("Closes at the end of"),
        validators=[InputRequired(), _not_before_today, _after_opening],
    )
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)])
    reminder_max = IntegerField(_l("At most this many reminders"), validators=[NumberRange(0, 10)])
    reminder_min_days = IntegerField(
        _l("At least this many days apart"), validators=[NumberRange(0, 60)]
    )
    min_report_n = IntegerField(
        _l("Smallest group shown in results"), validators=[NumberRange(3, 100)]
    )
    pool_k = IntegerField(_l("Shuffle pool size"), validators=[NumberRange(2, 100)])


class StaffAddForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    unit = StringField(
        _l("Unit (its path, e.g. Region 1 / Office A / Team 3)"),
        validators=[DataRequired(), Length(max=1000)],
    )
    language = SelectField(
        _l("Language of the emails"),
        choices=_language_choices(),
    )


class StaffMoveForm(FlaskForm):  # type: ignore[misc]
    unit = StringField(_l("Move to unit"), validators=[DataRequired(), Length(max=1000)])


class MailSettingsForm(FlaskForm):  # type: ignore[misc]
    sender_name = StringField(
        _l("Sender name (empty: “<jurisdiction> staff survey”)"), validators=[Length(max=100)]
    )
    reply_to = StringField(
        _l("Reply-to address for questions (empty: none)"), validators=[Length(max=320)]
    )
    intro_en = TextAreaField(
        _l("Introduction in English (optional)"), validators=[Length(max=1000)]
    )
    intro_es = TextAreaField(
        _l("Introduction in Spanish (optional)"), validators=[Length(max=1000)]
    )


class MailTestForm(FlaskForm):  # type: ignore[misc]
    language = SelectField(_l("Language"), choices=_language_choices())
    kind = SelectField(
        _l("Message"),
        choices=[
            SelectChoice("invitation", _l("Invitation")),
            SelectChoice("reminder", _l("Reminder")),
        ],
    )


class SharingForm(FlaskForm):  # type: ignore[misc]
    """A wave's data-sharing level and the agreement it rests on."""

    level = SelectField(
        _l("What may leave this jurisdiction"),
        choices=[
            SelectChoice("none", _l("Nothing")),
            SelectChoice("benchmark", _l("Benchmark figures of shown units")),
            SelectChoice("psychometric", _l("Psychometric statistics (no respondent rows)")),
            SelectChoice("research_extract", _l("De-identified research extract")),
        ],
    )
    reference = StringField(_l("Agreement reference"), validators=[Length(max=200)])
