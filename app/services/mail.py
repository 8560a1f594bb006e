"""Email: building invitations and reminders (English/Spanish, text + HTML) and sending them.

Two backends, chosen by ``MAIL_BACKEND``: ``smtp`` (STARTTLS and login when configured; nothing
is written to disk) and ``outbox`` (one ``.eml`` file per message under
``instance/outbox/wave-<id>/``, the demo's default). A message holds an address and a personal
link, so the outbox keeps a wave's messages only while it is open: :func:`purge_outbox` removes
them when it closes.

SMTP is spoken step by step (MAIL, RCPT, DATA) so that every failure is classified by *where* it
happened: before the message body was handed over nothing can have been delivered, and the
invitation may safely be tried again; a connection lost after the body was handed over leaves the
outcome unknown, and the caller must not resend without a person deciding (see delivery.py).
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import re
import secrets
import smtplib
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app import catalog
from app.catalog import N_
from app.dates import long_date
from app.i18n import languages

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
SMTP_TIMEOUT_SECONDS = 30

#: Subjects, invitation and reminder (English msgids; the catalog translates them).
_SUBJECTS = {
    False: N_("Your safety culture survey — %(jurisdiction)s"),
    True: N_("Reminder: the safety culture survey closes %(closes)s"),
}

#: The sender's display name when MAIL_FROM is a bare address: a name people recognise, since
#: spam filters and readers both distrust a bare ``survey@…``.
_SENDER_NAME = N_("%(jurisdiction)s staff survey")


@functools.cache
def _environment(language: str) -> Environment:
    """The email templates with ``language``'s catalog installed (one environment each)."""
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        catalog.load(language), newstyle=True
    )
    return environment


def _language(language: str) -> str:
    """The invitation's language if it is configured, else the default one."""
    configured = languages()
    return language if language in configured else configured[0]


class Outcome(enum.StrEnum):
    SENT = "sent"
    #: 4xx: try again later.
    RETRY = "retry"
    #: 550/551/553: the recipient is refused for good.
    BOUNCED = "bounced"
    #: any other 5xx: permanent failure.
    FAILED = "failed"
    #: nothing was handed over (connection refused, lost before DATA): safe to try again.
    UNREACHABLE = "unreachable"
    #: connection lost after the body was handed over: may or may not have arrived.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class Invite:
    """What one message says; built by delivery from an invitation it has claimed."""

    to: str
    language: str
    reminder: bool
    link: str
    closes_at: datetime
    timezone: str
    jurisdiction: str
    min_n: int
    #: The jurisdiction's own words (its email settings); None: the defaults.
    sender_name: str | None = None
    reply_to: str | None = None
    intro: str | None = None
    #: The privacy page (what holds, with the wave's own thresholds, and what remains possible).
    privacy_url: str = ""


def format_closing(closes_at: datetime, timezone: str, language: str) -> str:
    """The last day of the survey in the wave's zone (it closes at the end of that day)."""
    local = closes_at.astimezone(ZoneInfo(timezone))
    # A wave closing at midnight closes at the end of the day before.
    at_midnight = (local.hour, local.minute, local.second) == (0, 0, 0)
    last_day = local - timedelta(seconds=1) if at_midnight else local
    return long_date(last_day.date(), language)


def build_message(invite: Invite, mail_from: str) -> EmailMessage:
    """A multipart text + HTML message in the recipient's language."""
    language = _language(invite.language)
    closes = format_closing(invite.closes_at, invite.timezone, language)
    subject = catalog.translate(language, _SUBJECTS[invite.reminder]) % {
        "jurisdiction": invite.jurisdiction,
        "closes": closes,
    }
    context: dict[str, Any] = {
        "reminder": invite.reminder,
        "link": invite.link,
        "closes": closes,
        "jurisdiction": invite.jurisdiction,
        "min_n": invite.min_n,
        "privacy_url": invite.privacy_url,
        "subject": subject,
        "intro": invite.intro or "",
        "language": language,
    }
    name = invite.sender_name or catalog.translate(language, _SENDER_NAME) % {
        "jurisdiction": invite.jurisdiction
    }
    templates = _environment(language)
    return compose(
        mail_from=mail_from,
        sender_name=name,
        to=invite.to,
        subject=subject,
        text=templates.get_template("message.txt").render(context),
        html=templates.get_template("message.html").render(context),
        reply_to=invite.reply_to,
    )


def compose(
    *,
    mail_from: str,
    sender_name: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    reply_to: str | None = None,
) -> EmailMessage:
    """A text + HTML message with the headers every message we send carries.

    Invitations, reminders and account links all come through here, so their headers cannot
    drift apart. ``sender_name`` is used only when ``mail_from`` is a bare address (one already
    written as "Name <address>" is kept as it is). ``Auto-Submitted`` tells mail servers and
    out-of-office responders that no person sent this and none should answer it.
    """
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = mail_from if "<" in mail_from else formataddr((sender_name, mail_from))
    if reply_to:
        message["Reply-To"] = reply_to
    message["To"] = to
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


# --- backends -------------------------------------------------------------------------------


class Connection(Protocol):
    def send(self, message: EmailMessage, wave_id: int | None = None) -> SendResult: ...

    def close(self) -> None: ...


class Mailer(Protocol):
    def connect(self) -> Connection: ...


def classify(code: int, reply: bytes | str) -> SendResult:
    """An SMTP reply as an outcome: 2xx sent, 4xx retry, 550/551/553 bounced, other 5xx failed."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    # Replies often quote the recipient; the stored reason must not become a list of addresses.
    text = _ADDRESS.sub("<address>", " ".join(text.split()))
    detail = f"{code} {text}"[:500]
    if 200 <= code < 300:
        return SendResult(Outcome.SENT, detail)
    if 400 <= code < 500:
        return SendResult(Outcome.RETRY, detail)
    if code in (550, 551, 553):
        return SendResult(Outcome.BOUNCED, detail)
    return SendResult(Outcome.FAILED, detail)


class _RateLimit:
    """At most ``per_minute`` messages per minute from this process (evenly spaced)."""

    def __init__(self, per_minute: int) -> None:
        self.interval = 60.0 / per_minute
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            time.sleep(delay)


_RATE_LIMITS: dict[int, _RateLimit] = {}


def _rate_limit(per_minute: int) -> _RateLimit:
    if per_minute not in _RATE_LIMITS:
        _RATE_LIMITS[per_minute] = _RateLimit(per_minute)
    return _RATE_LIMITS[per_minute]


_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class SmtpConnection:
    """One SMTP session, opened on the first message and reopened after the server drops it."""

    def __init__(self, mailer: SmtpMailer) -> None:
        self.mailer = mailer
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        m = self.mailer
        smtp = smtplib.SMTP(m.host, m.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            smtp.ehlo()
            if m.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if m.username:
                smtp.login(m.username, m.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
        self.smtp = None

    def send(self, message: EmailMessage, wave_id: int | None = None) -> SendResult:
        self.mailer.rate.wait()
        try:
            if self.smtp is None:
                self.smtp = self._open()
            smtp = self.smtp
            code, reply = smtp.mail(self.mailer.mail_from)
            if code != 250:
                return self._refused(code, reply)
            code, reply = smtp.rcpt(str(message["To"]))
            if code not in (250, 251):
                return self._refused(code, reply)
            smtp.putcmd("data")
            code, reply = smtp.getreply()
            if code != 354:
                return self._refused(code, reply)
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            # Nothing was handed over yet (connect, greeting, login, MAIL, RCPT or DATA refused
            # by a dropped connection): safe to try again, whatever the reason.
            if isinstance(error, smtplib.SMTPResponseException):
                detail = f"{error.smtp_code} {error.smtp_error!r}"[:500]
            else:
                detail = f"{type(error).__name__}: {error}"[:500]
            return SendResult(Outcome.UNREACHABLE, f"server not reachable ({detail})")
        body = _LEADING_DOT.sub(b"..", message.as_bytes())
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        try:
            smtp.send(body + b".\r\n")
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            return SendResult(
                Outcome.UNKNOWN,
                f"connection lost after the message was handed over ({type(error).__name__})",
            )
        if code == 421:
            self._drop()
        return classify(code, reply)

    def _refused(self, code: int, reply: bytes) -> SendResult:
        if code == 421 or self.smtp is None:
            self._drop()
        else:
            try:
                self.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
        return classify(code, reply)

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
        self._drop()


@dataclass
class SmtpMailer:
    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    mail_from: str
    rate: _RateLimit

    def connect(self) -> SmtpConnection:
        return SmtpConnection(self)


class OutboxConnection:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage, wave_id: int | None = None) -> SendResult:
        folder = self.folder / _wave_folder(wave_id)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{secrets.token_hex(12)}.eml"
        temporary = folder / f".{name}.tmp"
        # Owner-only from the first byte, whatever the process umask.
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(message.as_bytes())
        temporary.replace(folder / name)
        return SendResult(Outcome.SENT, f"written to outbox/{_wave_folder(wave_id)}/{name}")

    def close(self) -> None:
        pass


@dataclass
class OutboxMailer:
    folder: Path
    mail_from: str

    def connect(self) -> OutboxConnection:
        return OutboxConnection(self.folder)


def _wave_folder(wave_id: int | None) -> str:
    # Account messages (password links, test sends) belong to no wave: kept apart, never purged
    # with a wave's messages, and holding no survey link.
    return "accounts" if wave_id is None else f"wave-{int(wave_id)}"


def purge_outbox(instance_path: str | Path, wave_id: int) -> int:
    """Remove a wave's outbox messages (addresses and links); returns how many were removed.

    Called when the wave closes. With SMTP nothing was written, so there is nothing to remove.
    """
    folder = Path(instance_path) / "outbox" / _wave_folder(wave_id)
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += path.suffix == ".eml"
    with contextlib.suppress(OSError):  # a message being written at this very moment
        folder.rmdir()
    return removed


def mailer_from_config(config: Mapping[str, Any], instance_path: str | Path) -> Mailer:
    """The configured backend (``MAIL_BACKEND``)."""
    if config.get("MAIL_BACKEND") == "smtp":
        return SmtpMailer(
            host=str(config["SMTP_HOST"]),
            port=int(config["SMTP_PORT"]),
            starttls=bool(config["SMTP_STARTTLS"]),
            username=config.get("SMTP_USERNAME"),
            password=config.get("SMTP_PASSWORD"),
            mail_from=str(config["MAIL_FROM"]),
            rate=_rate_limit(int(config["MAIL_RATE_PER_MINUTE"])),
        )
    return OutboxMailer(Path(instance_path) / "outbox", str(config["MAIL_FROM"]))


class _Closing:
    """``with closing_connection(mailer) as conn``: closes the SMTP session at the end."""

    def __init__(self, mailer: Mailer) -> None:
        self.connection = mailer.connect()

    def __enter__(self) -> Connection:
        return self.connection

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.connection.close()


def closing_connection(mailer: Mailer) -> _Closing:
    return _Closing(mailer)
