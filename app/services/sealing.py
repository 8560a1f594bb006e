"""Key pairs, sealed boxes and padding: what lets the web tier seal what only a job can open.

Two X25519 key pairs (DESIGN.md, "Who holds what"): the **mix** pair (web processes seal
submitted answers to its public half; only the mixer job opens them) and the **mailer** pair (a
wave's link tokens are sealed to its public half at launch; only the mail job opens them to
build reminders). Sealing is libsodium's sealed box (PyNaCl ``SealedBox``): a fresh ephemeral
X25519 key per message, XSalsa20-Poly1305 under the shared secret, 48 bytes of overhead. The
sender keeps nothing that could open the box afterwards.

Every blob starts with the 8-byte id of the key it was sealed to, so a rotated key pair can
still open what waits under the old one, and a mixer given the wrong key says so before it
touches anything.

Key files are text, one key per line (``survey-<kind>-<private|public>-v1 <id> <base64>``); a
private key file may hold older keys below the current one (kept by ``keys rotate``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from nacl.public import PublicKey as NaclPublicKey

KINDS = ("mix", "mailer")
KEY_ID_BYTES = 8
#: What a blob adds to its plaintext: the key id, the ephemeral public key (32) and the MAC (16).
SEAL_OVERHEAD = KEY_ID_BYTES + 32 + 16
_LENGTH = struct.Struct(">I")
_VERSION = "v1"


class KeyFileError(Exception):
    """A key file that is missing, unreadable or not the kind expected (one line)."""


class KeyMismatch(Exception):
    """A blob sealed to a key this keyring does not hold."""


class CannotOpen(Exception):
    """A blob that does not open (altered, or not a sealed box)."""


class PaddingError(ValueError):
    """Data larger than the fixed size it must be padded to."""


def key_id(public_raw: bytes) -> bytes:
    """The 8-byte id of a public key (a hash of it; says nothing about the private half)."""
    return hashlib.sha256(b"safety-culture-survey/key-id/" + public_raw).digest()[:KEY_ID_BYTES]


@dataclass(frozen=True)
class PublicKey:
    """The public half of a key pair: seals, never opens."""

    kind: str
    raw: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.raw)

    def seal(self, plaintext: bytes) -> bytes:
        """``key id || sealed box`` of ``plaintext`` (a fresh ephemeral key every time)."""
        return self.id + SealedBox(NaclPublicKey(self.raw)).encrypt(plaintext)


@dataclass(frozen=True)
class Keyring:
    """Private keys of one kind: the current one first, then older ones kept after a rotation."""

    kind: str
    private_keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.private_keys:
            raise ValueError("a keyring holds at least one key")

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.kind, bytes(PrivateKey(self.private_keys[0]).public_key))

    def ids(self) -> set[bytes]:
        return {key_id(bytes(PrivateKey(k).public_key)) for k in self.private_keys}

    def holds(self, blob: bytes) -> bool:
        """Whether ``blob`` was sealed to one of these keys (by its id; nothing is opened)."""
        return bytes(blob[:KEY_ID_BYTES]) in self.ids()

    def open(self, blob: bytes) -> bytes:
        """The plaintext of a sealed blob; KeyMismatch if no key here fits, CannotOpen if bad."""
        wanted = bytes(blob[:KEY_ID_BYTES])
        for raw in self.private_keys:
            private = PrivateKey(raw)
            if key_id(bytes(private.public_key)) == wanted:
                try:
                    return bytes(SealedBox(private).decrypt(bytes(blob[KEY_ID_BYTES:])))
                except CryptoError:
                    raise CannotOpen("a sealed entry is damaged and cannot be opened") from None
        raise KeyMismatch(f"sealed to {self.kind} key {wanted.hex()}, which this keyring lacks")


# --- padding ----------------------------------------------------------------------------------


def pad(data: bytes, size: int) -> bytes:
    """``length || data || zeros``: exactly ``size`` bytes, whatever ``data`` holds."""
    if len(data) + _LENGTH.size > size:
        raise PaddingError(f"{len(data)} bytes do not fit the fixed size of {size}")
    return _LENGTH.pack(len(data)) + data + bytes(size - _LENGTH.size - len(data))


def unpad(padded: bytes) -> bytes:
    (length,) = _LENGTH.unpack_from(padded)
    if length > len(padded) - _LENGTH.size:
        raise PaddingError("padded data is shorter than its stated length")
    return padded[_LENGTH.size : _LENGTH.size + length]


def padded_size(largest: int, *, block: int = 256) -> int:
    """The fixed size for data of at most ``largest`` bytes: length prefix, rounded up."""
    return -(-(largest + _LENGTH.size) // block) * block


def pack(meta: dict[str, Any], text: str | None) -> bytes:
    """``length || ASCII JSON of meta || text in UTF-8``: at most 4 bytes per text character,
    so the bound below holds for any script (JSON escapes would cost up to 12)."""
    head = json.dumps(
        {**meta, "has_text": text is not None}, sort_keys=True, separators=(",", ":")
    ).encode("ascii")
    return _LENGTH.pack(len(head)) + head + (text or "").encode("utf-8")


def unpack(packed: bytes) -> tuple[dict[str, Any], str | None]:
    (length,) = _LENGTH.unpack_from(packed)
    head = packed[_LENGTH.size : _LENGTH.size + length]
    meta: dict[str, Any] = json.loads(head.decode("ascii"))
    text = packed[_LENGTH.size + length :].decode("utf-8") if meta.pop("has_text") else None
    return meta, text


def packed_bound(largest_meta: dict[str, Any], text_characters: int) -> int:
    """The most bytes :func:`pack` can produce for metadata no longer than ``largest_meta``
    and a text of at most ``text_characters`` characters (4 UTF-8 bytes each at most)."""
    return len(pack(largest_meta, "")) + 4 * text_characters


# --- key files --------------------------------------------------------------------------------


def _line(kind: str, half: str, raw: bytes, public_raw: bytes) -> str:
    encoded = base64.b64encode(raw).decode("ascii")
    return f"survey-{kind}-{half}-{_VERSION} {key_id(public_raw).hex()} {encoded}"


def generate(kind: str) -> tuple[bytes, bytes]:
    """A new key pair of ``kind``: (private raw, public raw)."""
    if kind not in KINDS:
        raise ValueError(f"unknown key kind {kind!r}")
    private = PrivateKey.generate()
    return bytes(private), bytes(private.public_key)


def private_file_text(kind: str, private_keys: list[bytes]) -> str:
    header = (
        f"# {kind} private key(s) of the safety culture survey: the first line is current, later\n"
        f"# lines are older keys kept to open what is still sealed to them. Owner-readable only.\n"
    )
    lines = [_line(kind, "private", raw, bytes(PrivateKey(raw).public_key)) for raw in private_keys]
    return header + "\n".join(lines) + "\n"


def public_file_text(kind: str, public_raw: bytes) -> str:
    return (
        f"# {kind} public key of the safety culture survey.\n"
        + _line(kind, "public", public_raw, public_raw)
        + "\n"
    )


def write_private_file(path: Path, text: str) -> None:
    """Write a key file created 0600 from the start (never world-readable, not even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    temporary.replace(path)


def _parse(setting: str, path: Path, kind: str, half: str) -> list[bytes]:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(
            f"{setting}: no key file at {path} (create one: flask --app wsgi keys generate)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(f"{setting}: cannot read {path} ({type(error).__name__})") from None
    keys: list[bytes] = []
    expected = f"survey-{kind}-{half}-{_VERSION}"
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[0].startswith("survey-"):
            raise KeyFileError(f"{setting}: {path} line {number} is not a survey key")
        if parts[0] != expected:
            found = parts[0].removeprefix("survey-").removesuffix(f"-{_VERSION}")
            raise KeyFileError(
                f"{setting}: {path} holds a {found.replace('-', ' ')} key, not a {kind} {half} key"
            )
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raise KeyFileError(f"{setting}: {path} line {number} is not valid base64") from None
        if len(raw) != 32:
            raise KeyFileError(f"{setting}: {path} line {number} is not a 32-byte X25519 key")
        public_raw = raw if half == "public" else bytes(PrivateKey(raw).public_key)
        if key_id(public_raw).hex() != parts[1]:
            raise KeyFileError(f"{setting}: {path} line {number} does not match its key id")
        keys.append(raw)
    if not keys:
        raise KeyFileError(f"{setting}: {path} holds no key")
    if half == "public" and len(keys) > 1:
        raise KeyFileError(f"{setting}: {path} holds more than one public key")
    return keys


def read_public(setting: str, path: Path, kind: str) -> PublicKey:
    """The public key in ``path``; KeyFileError (naming ``setting``) if it is not one."""
    return PublicKey(kind, _parse(setting, path, kind, "public")[0])


def read_keyring(setting: str, path: Path, kind: str) -> Keyring:
    """The private key(s) in ``path``; KeyFileError (naming ``setting``) if it is not one."""
    return Keyring(kind, tuple(_parse(setting, path, kind, "private")))
