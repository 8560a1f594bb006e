"""Comments: what the masking removes, and the comment list a unit's report may print."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Response
from app.services.reports.publication import WaveResults
from app.services.reports.results import ancestors

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CASE = re.compile(
    r"\b(?:case|file|referral|docket|client|child)\s*(?:no\.?|number|nr\.?|id|#)?\s*[:#]?\s*"
    r"[A-Z0-9][A-Z0-9/-]*\d[A-Z0-9/-]*",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{5,}\d(?![\w])")
_LONG_ID = re.compile(r"\b(?=[A-Z0-9-]*\d{4})[A-Z0-9]+(?:-[A-Z0-9]+)+\b|\b\d{5,}\b", re.IGNORECASE)

#: A capitalised word that can be part of a name ("Lopez", "O'Neil", "McDonald", "Anne-Marie").
_NAME_WORD = r"[A-Z](?:[a-z]{0,2}[A-Z][a-z]+|[a-z]+|[a-z]?['’][A-Z][a-z]+)(?:-[A-Z]?[a-z]+)?"
#: Titles and roles that people put before a colleague's name.
_ROLES = (
    "mr|mrs|ms|miss|mx|dr|prof|supervisor|manager|director|caseworker|case worker|worker|"
    "colleague|co-worker|coworker|lead|boss|deputy|administrator|coordinator|officer|judge|"
    "attorney|lawyer|nurse|therapist|investigator|sergeant|detective|chief|commissioner|"
    "trainer|mentor|clerk|aide|specialist"
)
_AFTER_ROLE = re.compile(rf"\b((?i:{_ROLES})\.?\s+)({_NAME_WORD}(?:\s+{_NAME_WORD})?)\b")
_NAME_PAIR = re.compile(rf"\b({_NAME_WORD})\s+({_NAME_WORD})\b")
#: Capitalised words that are not names, so that "The Office" or "Family Court" stay.
_NOT_NAMES = frozenset(
    word
    for line in (
        "a an the i we our my your his her their this that these those there here it its please",
        "and or but if when while after before because since so then also every each all no not",
        "team teams office offices region regions county state agency department unit units court",
        "courts family families child children welfare safety services service protective youth",
        "health human north south east west central intake ongoing foster adoption kinship",
        "investigations permanency hotline police hospital school",
        "monday tuesday wednesday thursday friday saturday sunday january february march april may",
        "june july august september october november december",
    )
    for word in line.split()
)


def mask_identifiers(text: str) -> str:
    """Mask e-mail addresses, phone numbers, case numbers and names we can recognise.

    Names are recognised after a title or role ("Supervisor Maria Lopez" → "Supervisor [name
    removed]") and as two capitalised words that are not common words of the work ("Maria
    Lopez ignored it"). A lone first name ("I told Maria") is not recognised; the report says
    so instead of promising more than this does.
    """
    text = _EMAIL.sub("[email removed]", text)
    text = _CASE.sub("[case number removed]", text)
    text = _PHONE.sub(
        lambda m: "[phone removed]" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(),
        text,
    )
    text = _LONG_ID.sub("[number removed]", text)
    text = _AFTER_ROLE.sub(_role_name, text)
    return _NAME_PAIR.sub(_name_pair, text)


def _role_name(match: re.Match[str]) -> str:
    words = match.group(2).split()
    if words[0].lower() in _NOT_NAMES:
        return match.group(0)
    return f"{match.group(1)}[name removed]"


def _name_pair(match: re.Match[str]) -> str:
    first, last = match.group(1), match.group(2)
    if first.lower() in _NOT_NAMES or last.lower() in _NOT_NAMES:
        return match.group(0)
    return "[name removed]"


def comments_for(session: Session, results: WaveResults, unit_id: int) -> tuple[str, ...]:
    """The unit's comments, masked, in alphabetical order, where the publication allows it."""
    if not results.unit(unit_id).comments.shown:
        return ()
    subtree = [u.id for u in results.units.values() if unit_id in ancestors(results.units, u.id)]
    texts = [
        mask_identifiers(c.strip())
        for c in session.scalars(
            select(Response.comment).where(
                Response.wave_id == results.wave_id,
                Response.unit_id.in_(subtree),
                Response.comment.is_not(None),
            )
        )
        if c and c.strip()
    ]
    # Alphabetical: says nothing about the order answers were stored or sent in, and the
    # same data gives the same report (a random order per download would make two copies of
    # one report look different for no reason).
    texts.sort(key=lambda t: (t.casefold(), t))
    return tuple(texts)
