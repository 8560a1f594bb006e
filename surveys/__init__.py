"""Survey instrument definitions: the dataclasses, the YAML loader and the packaged instruments."""

from __future__ import annotations

import functools
import re
from os import PathLike
from pathlib import Path

from surveys.loader import InstrumentError, instrument_to_dict, load_instrument, parse_instrument
from surveys.model import (
    BackgroundQuestion,
    CommentQuestion,
    Instrument,
    Item,
    ResponseScale,
    Scale,
    Text,
)

#: The folder holding the packaged instrument definitions (``*.yaml``).
INSTRUMENTS_DIR = Path(__file__).resolve().parent
#: The default instrument every new wave uses unless told otherwise.
DEFAULT_INSTRUMENT_PATH = INSTRUMENTS_DIR / "team-safety-culture.yaml"

__all__ = [
    "DEFAULT_INSTRUMENT_PATH",
    "INSTRUMENTS_DIR",
    "BackgroundQuestion",
    "CommentQuestion",
    "Instrument",
    "InstrumentError",
    "Item",
    "ResponseScale",
    "Scale",
    "Text",
    "find_instrument",
    "instrument_to_dict",
    "list_instruments",
    "load_default",
    "load_instrument",
    "parse_instrument",
]


@functools.cache
def load_default() -> Instrument:
    """The packaged default instrument (loaded once per process)."""
    return load_instrument(DEFAULT_INSTRUMENT_PATH)


def list_instruments(search_dir: str | PathLike[str] = INSTRUMENTS_DIR) -> list[Instrument]:
    """Every instrument defined by a ``*.yaml`` file in ``search_dir``, sorted by key and version.

    Raises :class:`InstrumentError` if any file there is invalid, or if two files define the
    same key and version: a definition is never skipped silently.
    """
    instruments: dict[tuple[str, str], tuple[Path, Instrument]] = {}
    errors: list[str] = []
    for path in sorted(Path(search_dir).glob("*.yaml")):
        try:
            instrument = load_instrument(path)
        except InstrumentError as exc:
            errors.extend(exc.errors)
            continue
        identity = (instrument.key, instrument.version)
        if identity in instruments:
            other = instruments[identity][0]
            errors.append(
                f"{path}: instrument '{instrument.key}' version {instrument.version} "
                f"is already defined in {other}"
            )
        else:
            instruments[identity] = (path, instrument)
    if errors:
        raise InstrumentError(errors)
    return sorted(
        (instrument for _, instrument in instruments.values()),
        key=lambda instrument: (instrument.key, _version_order(instrument.version)),
    )


def find_instrument(
    key: str, version: str | None = None, search_dir: str | PathLike[str] = INSTRUMENTS_DIR
) -> Instrument | None:
    """The instrument ``key`` at ``version`` (None: the newest), or None if not defined."""
    matches = [i for i in list_instruments(search_dir) if i.key == key]
    if version is not None:
        matches = [i for i in matches if i.version == version]
    return matches[-1] if matches else None


def _version_order(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key comparing numeric parts as numbers: 2026.10 comes after 2026.9."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.\-_]", version)
    )
