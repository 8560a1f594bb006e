"""Flask's signed-cookie session, with its signing work set up once per process.

Flask builds a new ``URLSafeTimedSerializer`` for every request and itsdangerous derives the
signing key from the secret on every signature it checks or makes; on the survey, where each
page of each person opens the session, that was most of the cost of reading the cookie. The keys
(``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``) and every rule stay Flask's: the same cookie, the
same signature, old keys still accepted while they are listed as fallbacks.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner, URLSafeTimedSerializer, want_bytes

#: Derived signing keys by (secret, salt, derivation, digest): a handful per process.
_DERIVED: dict[tuple[bytes, bytes, str, Any], bytes] = {}
_MAX_DERIVED = 64


class _Signer(TimestampSigner):
    """itsdangerous' timestamp signer, deriving each key once instead of on every signature."""

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        index = (secret, self.salt, self.key_derivation, self.digest_method)
        derived = _DERIVED.get(index)
        if derived is None:
            derived = super().derive_key(secret)
            if len(_DERIVED) >= _MAX_DERIVED:
                _DERIVED.clear()
            _DERIVED[index] = derived
        return derived


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session whose serializer is built once per set of keys."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        built: dict[tuple[Any, ...], URLSafeTimedSerializer] = app.extensions.setdefault(
            "session_serializers", {}
        )
        serializer = built.get(keys)
        if serializer is None:
            built.clear()  # the keys changed (a test, a reload): the old ones go
            serializer = built[keys] = URLSafeTimedSerializer(
                list(keys),
                salt=self.salt,
                serializer=self.serializer,
                signer=_Signer,
                signer_kwargs={
                    "key_derivation": self.key_derivation,
                    "digest_method": self.digest_method,
                },
            )
        return serializer


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
