"""Password rules for administrative accounts: a length rule plus a list of common passwords.

The list (``common_passwords.txt``, made by ``scripts/make_common_passwords.py`` from the one the
zxcvbn package ships, MIT licence) holds the 10,000 most common leaked passwords. Length alone
lets ``aaaaaaaaaaaa`` and ``Password1234`` through, so a password is also refused when what is
left after lower-casing, undoing common letter-for-digit swaps and trimming digits and symbols
from both ends is on the list (or is one listed word repeated), when it is one short piece
repeated, when it holds no letters at all, or when it contains the account's email name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

from app.i18n import Message
from app.i18n import lazy_message as _l

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = files("app.services").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _repeats_a_piece(text: str) -> bool:
    """``abcabcabcabc``, ``aaaaaaaaaaaa``: the whole text is one piece of up to 4 repeated."""
    return any(
        len(text) % size == 0 and text[:size] * (len(text) // size) == text
        for size in range(1, min(4, len(text) // 2) + 1)
    )


def _is_listed(core: str, listed: frozenset[str]) -> bool:
    if core in listed:
        return True
    # A listed word written twice or more ("passwordpassword").
    for size in range(4, len(core) // 2 + 1):
        repeated = len(core) % size == 0 and core[:size] * (len(core) // size) == core
        if repeated and core[:size] in listed:
            return True
    return False


def weakness(password: str, *, email: str = "", min_length: int = 12) -> str | Message | None:
    """What is wrong with ``password`` (one phrase for the form), or None if it is acceptable."""
    if len(password) < min_length:
        return _l("at least %(n)s characters", n=min_length)
    lowered = password.lower()
    if _repeats_a_piece(lowered):
        return _l("not one character or a few characters repeated")
    if not any(c.isalpha() for c in password):
        return _l("not only digits and symbols; use words")
    listed = common_passwords()
    for candidate in {lowered, lowered.translate(_LEET)}:
        core = _EDGES.sub("", candidate)
        if _is_listed(core, listed) or _is_listed(candidate, listed):
            return _l("too common (it is on a list of leaked passwords); use a few unrelated words")
    name = email.split("@", 1)[0].lower()
    if len(name) >= 4 and name in lowered:
        return _l("must not contain the email address")
    return None


__all__ = ["common_passwords", "weakness"]
