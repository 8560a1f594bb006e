"""Survey messages and account messages leave with the same headers and the same two parts."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime

import pytest

from app.services import accounts, mail

#: What every message we send must carry: a sender a reader recognises, a date and an id that
#: spam filters look for, and the mark that keeps out-of-office replies away.
REQUIRED = {"From", "To", "Date", "Subject", "Message-ID", "Auto-Submitted"}


def _invitation(language: str, *, reminder: bool, reply_to: str | None = None) -> EmailMessage:
    invite = mail.Invite(
        to="ana@lake.test",
        language=language,
        reminder=reminder,
        link="https://survey.test/s/abc",
        closes_at=datetime(2026, 12, 15, 18, tzinfo=UTC),
        timezone="America/Chicago",
        jurisdiction="Lake County",
        min_n=5,
        reply_to=reply_to,
        privacy_url="https://survey.test/privacy",
    )
    return mail.build_message(invite, "survey@lake.test")


def _account(language: str, purpose: str) -> EmailMessage:
    return accounts.build_account_message(
        accounts.AccountMail(
            to="bo@lake.test",
            link="https://survey.test/reset/xyz",
            purpose=purpose,
            mail_from="survey@lake.test",
            language=language,
        )
    )


def _shape(message: EmailMessage) -> tuple[frozenset[str], tuple[tuple[str, frozenset[str]], ...]]:
    """The header names of the message and, part by part, each part's type and header names."""
    parts = tuple(
        (part.get_content_type(), frozenset(part.keys())) for part in message.iter_parts()
    )
    return frozenset(message.keys()), parts


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("purpose", ["reset", "invitation"])
@pytest.mark.parametrize("reminder", [False, True])
def test_account_and_survey_messages_carry_the_same_headers_and_parts(
    language: str, purpose: str, reminder: bool
) -> None:
    survey = _invitation(language, reminder=reminder)
    account = _account(language, purpose)
    assert _shape(account) == _shape(survey)
    headers, parts = _shape(account)
    assert headers >= REQUIRED
    assert [kind for kind, _ in parts] == ["text/plain", "text/html"]
    for message in (survey, account):
        assert message.get_content_type() == "multipart/alternative"
        assert str(message["Auto-Submitted"]) == "auto-generated"
        assert parsedate_to_datetime(str(message["Date"])).tzinfo is not None
        assert str(message["Message-ID"]).endswith("@lake.test>")
        assert parseaddr(str(message["From"]))[1] == "survey@lake.test"
        assert parseaddr(str(message["From"]))[0]  # a display name, never a bare address


def test_reply_to_is_the_only_header_a_jurisdiction_adds() -> None:
    plain = _invitation("en", reminder=False)
    with_reply = _invitation("en", reminder=False, reply_to="hr@lake.test")
    assert set(with_reply.keys()) - set(plain.keys()) == {"Reply-To"}
    assert str(with_reply["Reply-To"]) == "hr@lake.test"
    assert "Reply-To" not in _account("en", "reset")
