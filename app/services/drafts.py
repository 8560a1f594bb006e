"""Encrypted drafts (save and come back): keys derived from the survey token, never stored.

A draft is found by ``lookup = SHA-256(HKDF(token, "survey-draft-lookup"))``, which differs from the
invitation's ``token_hash`` (SHA-256 of the token itself), so the drafts table cannot be joined to
invitations without the token. Its content is padded to one fixed size per instrument (whatever
was answered so far, every draft of a wave has the same length) and sealed with AES-256-GCM under
``HKDF(token, "survey-draft-key")``. The token is random and the server forgets it at the end of
every request, so neither the database nor ``SECRET_KEY`` (nor both) open a draft.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import surveys
from app.models import Draft
from app.services import sealing

_NONCE_BYTES = 12
_SALT = b"safety-culture-survey/drafts/v1"

#: An item's draft value: an answer 1..points, or "na" for "Does not apply / Don't know".
DraftValue = int | str


@dataclass(frozen=True)
class DraftState:
    """Where a person stopped and what they answered so far (their own eyes only)."""

    page: int = 1
    answers: dict[str, DraftValue] = field(default_factory=dict)
    background: dict[str, int] = field(default_factory=dict)
    comment: str | None = None
    #: The language the person chose on the pages, so reopening the link keeps it.
    language: str | None = None

    def to_bytes(self, size: int) -> bytes:
        """Packed and padded to ``size`` (PaddingError if it does not fit)."""
        meta: dict[str, Any] = {
            "page": self.page,
            "answers": self.answers,
            "background": self.background,
        }
        if self.language is not None:
            meta["language"] = self.language
        return sealing.pad(sealing.pack(meta, self.comment), size)

    @classmethod
    def from_bytes(cls, raw: bytes) -> DraftState:
        data, comment = sealing.unpack(sealing.unpad(raw))
        return cls(
            page=int(data["page"]),
            answers=dict(data["answers"]),
            background={str(k): int(v) for k, v in data["background"].items()},
            comment=comment,
            language=str(data["language"]) if data.get("language") else None,
        )


_SIZES: dict[tuple[str, str], int] = {}


def draft_size(instrument: surveys.Instrument) -> int:
    """The one padded size of every draft of ``instrument``: the largest legal draft (last page,
    every item at its longest value or "na", every background question, the longest comment in
    4-byte characters) fits."""
    cached = _SIZES.get((instrument.key, instrument.version))
    if cached is None:
        cached = _SIZES[(instrument.key, instrument.version)] = _largest_draft(instrument)
    return cached


def _largest_draft(instrument: surveys.Instrument) -> int:
    answers: dict[str, DraftValue] = {}
    for scale in instrument.scales:
        points = scale.response_scale.points
        # The longer in JSON of the highest answer and "na" (quoted: 4 characters).
        value: DraftValue = points if len(str(points)) > len('"na"') else "na"
        for item in scale.items:
            answers[item.key] = value
    meta = {
        "page": len(instrument.scales) + 1,
        "answers": answers,
        "background": {q.key: len(next(iter(q.options.values()))) for q in instrument.background},
        "language": max(instrument.languages, key=len),
    }
    comment = instrument.comment.max_length if instrument.comment else 0
    return sealing.padded_size(sealing.packed_bound(meta, comment))


def _hkdf(token: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose.encode()).derive(
        token.encode("utf-8")
    )


def draft_lookup(token: str) -> str:
    """The draft's primary key: SHA-256 of a derivation of the token (not its token_hash)."""
    return hashlib.sha256(_hkdf(token, "survey-draft-lookup")).hexdigest()


def draft_key(token: str) -> bytes:
    """The 256-bit AES-GCM key of a draft; computed per request, never stored."""
    return _hkdf(token, "survey-draft-key")


@dataclass(frozen=True)
class DraftKeys:
    """A token's draft lookup and key, derived once and passed along within one request.

    Never cached beyond the request: the server keeps neither the token nor anything derived
    from it once the response is sent.
    """

    lookup: str
    key: bytes

    @classmethod
    def of(cls, token: str) -> DraftKeys:
        return cls(draft_lookup(token), draft_key(token))


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """AES-GCM: a random 96-bit nonce followed by the ciphertext and its tag."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def unseal(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    """Open what :func:`seal` produced; raises ``cryptography.exceptions.InvalidTag`` if altered."""
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    return AESGCM(key).decrypt(nonce, body, associated)


def dialect_insert(session: Session) -> Any:
    """The ``insert`` construct of the session's dialect, which offers ON CONFLICT (upserts)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    # DATABASE_URL only accepts SQLite and PostgreSQL (app/config.py), so this is a coding error.
    raise ValueError(f"no upsert for the {name} dialect; the project runs on SQLite or PostgreSQL")


# Core statements on the table (not the ORM entity): every page of every person runs them, and
# nothing here needs an ORM object.
_TABLE = Draft.metadata.tables["drafts"]
_FIND = select(_TABLE.c.ciphertext).where(_TABLE.c.lookup == bindparam("draft_lookup"))
_DELETE = delete(_TABLE).where(_TABLE.c.lookup == bindparam("draft_lookup"))
_UPSERTS: dict[str, Any] = {}


def _upsert(session: Session) -> Any:
    """The dialect's draft upsert, built once per dialect (values are bound per call)."""
    name = session.get_bind().dialect.name
    statement = _UPSERTS.get(name)
    if statement is None:
        values = dialect_insert(session)(_TABLE).values(
            lookup=bindparam("draft_lookup"),
            wave_id=bindparam("draft_wave"),
            ciphertext=bindparam("draft_sealed"),
        )
        statement = _UPSERTS[name] = values.on_conflict_do_update(
            index_elements=[_TABLE.c.lookup], set_={"ciphertext": values.excluded.ciphertext}
        )
    return statement


def open_draft(keys: DraftKeys, sealed: bytes | None) -> DraftState | None:
    """Decrypt a stored draft, or None (nothing stored, or it cannot be opened)."""
    if sealed is None:
        return None
    try:
        return DraftState.from_bytes(unseal(keys.key, sealed, keys.lookup.encode()))
    except (InvalidTag, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def find_draft(session: Session, token: str, *, keys: DraftKeys | None = None) -> DraftState | None:
    """The person's draft, decrypted, or None (none saved, or it cannot be opened)."""
    keys = keys or DraftKeys.of(token)
    sealed = session.scalar(_FIND, {"draft_lookup": keys.lookup})
    return open_draft(keys, sealed)


def put_draft(
    session: Session,
    token: str,
    wave_id: int,
    state: DraftState,
    *,
    size: int,
    keys: DraftKeys | None = None,
) -> None:
    """Insert or replace the draft, padded to ``size`` (race-safe upsert; the caller commits)."""
    keys = keys or DraftKeys.of(token)
    sealed = seal(keys.key, state.to_bytes(size), keys.lookup.encode())
    session.connection().execute(
        _upsert(session),
        {"draft_lookup": keys.lookup, "draft_wave": wave_id, "draft_sealed": sealed},
    )


def delete_draft(session: Session, token: str, *, keys: DraftKeys | None = None) -> None:
    """Remove the draft if there is one (the caller commits)."""
    lookup = keys.lookup if keys is not None else draft_lookup(token)
    session.connection().execute(_DELETE, {"draft_lookup": lookup})
