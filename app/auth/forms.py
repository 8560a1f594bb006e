"""Sign-in and password forms (CSRF-protected through Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password", validators=[DataRequired(), Length(min=12, max=200)])
    repeat = PasswordField(
        "Repeat the new password", validators=[EqualTo("password", "The passwords differ.")]
    )


class ResetRequestForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])


class NewPasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(min=12, max=200, message="Use at least 12 characters (and at most 200)."),
        ],
    )
    repeat = PasswordField(
        "Repeat the new password", validators=[EqualTo("password", "The passwords differ.")]
    )
