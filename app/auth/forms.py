"""Sign-in and password forms (CSRF-protected through Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=12, max=200)]
    )
    repeat = PasswordField(
        _l("Repeat the new password"), validators=[EqualTo("password", "The passwords differ.")]
    )


class ResetRequestForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])


class NewPasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=12, max=200, message="Use at least 12 characters (and at most 200)."),
        ],
    )
    repeat = PasswordField(
        _l("Repeat the new password"), validators=[EqualTo("password", "The passwords differ.")]
    )


class LanguageForm(FlaskForm):  # type: ignore[misc]
    # Choices are the configured languages, set by the view.
    language = SelectField(_l("Language of pages and reports"), validate_choice=True)
