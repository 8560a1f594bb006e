"""Forms of the administration pages (every one CSRF-protected through Flask-WTF)."""

from __future__ import annotations

from datetime import date, timedelta

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
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
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that changes something: only the CSRF token."""


class JurisdictionForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        "Short name (in URLs and the CLI)", validators=[DataRequired(), Length(max=64)]
    )
    shares_benchmarks = BooleanField("Contributes to national benchmarks", default=True)


class UserForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    role = SelectField(
        "Role",
        choices=[
            SelectChoice("leader", "Leader (reads reports of its units)"),
            SelectChoice("jurisdiction_admin", "Jurisdiction administrator"),
            SelectChoice("national", "National coordinator"),
        ],
    )
    jurisdiction = SelectField("Jurisdiction", coerce=int, validate_choice=False, default=0)
    units = TextAreaField("Units (leaders: one path per line, e.g. Region 3 / Office A)")
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=12)])


class RosterUploadForm(FlaskForm):  # type: ignore[misc]
    file = FileField("Roster file (.csv or .xlsx, at most 20 MB)", validators=[FileRequired()])


class RosterConfirmForm(FlaskForm):  # type: ignore[misc]
    staged = HiddenField(validators=[DataRequired()])
    checksum = HiddenField(validators=[DataRequired()])


def _next_year() -> int:
    return date.today().year


class WaveForm(FlaskForm):  # type: ignore[misc]
    year = IntegerField("Year", default=_next_year, validators=[NumberRange(2000, 2100)])
    instrument = SelectField("Instrument", validate_choice=False)
    opens = DateField("Opens on", default=date.today, validators=[DataRequired()])
    closes = DateField(
        "Closes at the end of",
        default=lambda: date.today() + timedelta(days=21),
        validators=[DataRequired()],
    )
    timezone = StringField("Time zone", default="America/Chicago", validators=[DataRequired()])
    reminder_max = IntegerField(
        "At most this many reminders", default=2, validators=[NumberRange(0, 10)]
    )
    reminder_min_days = IntegerField(
        "At least this many days apart", default=7, validators=[NumberRange(0, 60)]
    )
    min_report_n = IntegerField(
        "Smallest group shown in results", default=5, validators=[Optional(), NumberRange(3, 100)]
    )
    pool_k = IntegerField(
        "Shuffle pool size", default=10, validators=[Optional(), NumberRange(2, 100)]
    )


class SharingForm(FlaskForm):  # type: ignore[misc]
    """A wave's data-sharing level and the agreement it rests on."""

    level = SelectField(
        "What may leave this jurisdiction",
        choices=[
            SelectChoice("none", "Nothing"),
            SelectChoice("benchmark", "Benchmark figures of shown units"),
            SelectChoice("psychometric", "Psychometric statistics (no respondent rows)"),
            SelectChoice("research_extract", "De-identified research extract"),
        ],
    )
    reference = StringField("Agreement reference", validators=[Length(max=200)])
