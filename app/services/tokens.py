"""Survey link tokens: random, known to the database only as a hash and a sealed copy.

A token is 32 random bytes (``secrets``, 256 bits) in URL-safe base64: nothing on the server
derives it, so neither the database nor ``SECRET_KEY`` nor both together rebuild a link. The
database keeps ``SHA-256(token)`` (to recognise the link) and, until the wave closes, the token
sealed to the mailer public key (so the mail job, which alone holds the private half, can put
the same link in every reminder). The sealed copy is erased when the wave closes.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.services import sealing

TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh link token (43 URL-safe characters, 256 random bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def seal_token(public: sealing.PublicKey, token: str) -> bytes:
    """The token sealed to the mailer public key (opened only by the mail job)."""
    return public.seal(token.encode("ascii"))


def open_token(keyring: sealing.Keyring, sealed: bytes) -> str:
    """The token of a sealed copy (the mail job's mailer keyring)."""
    return keyring.open(sealed).decode("ascii")


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from SECRET_KEY with HKDF-SHA256.

    Used only for what the web tier keeps to itself (rate-limit keys), never for anything stored.
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret_key.encode()
    )


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: the only form in which the database recognises it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


#: What a link token can look like: 20 to 128 URL-safe base64 characters (ASCII only).
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,128}")


def looks_like_token(candidate: str) -> bool:
    """Cheap shape check before any database look-up (one compiled match, every page)."""
    return _TOKEN_SHAPE.fullmatch(candidate) is not None
