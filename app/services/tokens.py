"""Survey link tokens: derived from a server key and a per-invitation nonce; only hashes stored.

A token must appear in the first email and again in every reminder, weeks later, yet the database
keeps only its SHA-256. So the token is not stored but derived when an email is built:
``token = base64url(HMAC-SHA256(K, nonce))`` with ``K = HKDF(SECRET_KEY, "survey-link-tokens")`` and
a random 32-byte nonce per invitation (256 bits; unguessable without ``SECRET_KEY``). The nonce is
cleared when the wave closes, so closed tokens cannot be rebuilt even with the key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 32


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from SECRET_KEY with HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret_key.encode()
    )


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def derive_token(secret_key: str, nonce: bytes) -> str:
    """The URL-safe token of an invitation (43 characters, 256 bits)."""
    mac = hmac.new(derive_key(secret_key, "survey-link-tokens"), nonce, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: the only form in which the database knows it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(candidate: str) -> bool:
    """Cheap shape check before any database look-up."""
    return 20 <= len(candidate) <= 128 and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in candidate
    )


@functools.lru_cache(maxsize=8)
def token_key(secret_key: str) -> bytes:
    """The HKDF key of :func:`derive_token`, derived once per ``SECRET_KEY`` (for batches)."""
    return derive_key(secret_key, "survey-link-tokens")


def token_with_key(key: bytes, nonce: bytes) -> str:
    """:func:`derive_token` given :func:`token_key` (the same token, without the HKDF step)."""
    mac = hmac.new(key, nonce, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
