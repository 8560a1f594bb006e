"""Instruments in the database: register a validated definition once, read it back for a wave."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import surveys
from app.models import Instrument as InstrumentRow


class InstrumentChanged(Exception):
    """A definition with the same key and version but other content: a new version is needed."""


def ensure_instrument(session: Session, instrument: surveys.Instrument) -> InstrumentRow:
    """The stored row of ``instrument``, adding it if new (flushes; the caller commits)."""
    row = session.scalars(
        select(InstrumentRow).where(
            InstrumentRow.key == instrument.key, InstrumentRow.version == instrument.version
        )
    ).one_or_none()
    if row is None:
        row = InstrumentRow(
            key=instrument.key,
            version=instrument.version,
            definition=surveys.instrument_to_dict(instrument),
            checksum=instrument.checksum,
        )
        session.add(row)
        session.flush()
    elif row.checksum != instrument.checksum:
        raise InstrumentChanged(
            f"instrument {instrument.key} {instrument.version} is stored with other content; "
            "give the changed definition a new version"
        )
    return row


_PARSED: dict[str, surveys.Instrument] = {}


def definition_of(row: InstrumentRow) -> surveys.Instrument:
    """The validated instrument of a stored row (parsed once per checksum and process)."""
    parsed = _PARSED.get(row.checksum)
    if parsed is None:
        parsed = surveys.parse_instrument(row.definition, f"instrument {row.key} {row.version}")
        _PARSED[row.checksum] = parsed
    return parsed
