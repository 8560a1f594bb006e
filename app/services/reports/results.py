"""Results from the database: a wave's tree as launched and its stored responses as a frame.

Nothing here decides what is shown: :mod:`app.services.reports.publication` hands these
inputs to ``scoring.publish`` and every output renders from its decision.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pandas as pd
from flask import Flask, current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import scoring
import surveys
from app.i18n import lazy_message as _l
from app.models import Invitation, Jurisdiction, OrgUnit, Response, Wave
from app.reporting.cache import fingerprint
from app.services.history import find_frozen_tree
from app.services.instruments import definition_of
from app.services.reports.errors import NoResponses, UnknownWave

#: Changes whenever the scoring code changes, so cached results and PDFs are recomputed.
SCORING_VERSION: str = fingerprint(Path(scoring.__file__).resolve().parent.glob("*.py"))
#: The key of the app's report cache in ``app.extensions``.
EXTENSION = "reports.cache"
_CACHE_SIZE = 64
_T = TypeVar("_T")


class ResultsCache:
    """Waves read and published by one application, bounded, safe to share between threads.

    Keys are what the results depend on (wave, scoring version, tree, response ids), never
    object ids, so a key can only ever find the results it was computed for.
    """

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[object, ...], object] = OrderedDict()

    def get_or_make(self, key: tuple[object, ...], make: Callable[[], _T]) -> _T:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit  # type: ignore[return-value]  # a key says what it holds
        value = make()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def init_app(app: Flask) -> None:
    """Give the application its own report cache."""
    app.extensions[EXTENSION] = ResultsCache()


def app_cache() -> ResultsCache | None:
    """The current application's cache; None outside an app (nothing is kept then)."""
    if not has_app_context():
        return None
    cache = current_app.extensions.get(EXTENSION)
    return cache if isinstance(cache, ResultsCache) else None


def cached(key: tuple[object, ...], make: Callable[[], _T]) -> _T:
    cache = app_cache()
    return make() if cache is None else cache.get_or_make(key, make)


def clear_cache() -> None:
    """Forget the current application's waves (tests, or after re-importing responses)."""
    cache = app_cache()
    if cache is not None:
        cache.clear()


@dataclass(frozen=True)
class UnitNode:
    """One org unit as the wave's reports see it (as it was when the wave was launched)."""

    id: int
    name: str
    path: str
    kind: str
    parent_id: int | None
    depth: int


@dataclass(frozen=True, eq=False)
class WaveData:
    """One wave as stored: its launch tree, invitations per unit and responses as a frame.

    ``frame`` has a ``unit`` column (unit id as text), one column per item and ``comment``;
    ``tree``, ``kinds`` and ``invited`` are keyed the same way (invited: the unit's own).
    ``key`` identifies the content (wave, scoring version, tree, responses).
    """

    key: tuple[object, ...]
    wave_id: int
    year: int
    min_n: int
    jurisdiction_id: int
    jurisdiction_name: str
    jurisdiction_slug: str
    instrument: surveys.Instrument
    units: Mapping[int, UnitNode]
    children: Mapping[int, tuple[int, ...]]
    frame: pd.DataFrame
    tree: Mapping[str, str | None]
    kinds: Mapping[str, str]
    invited: Mapping[str, int]


def load_wave(session: Session, wave_id: int) -> WaveData:
    """Read a wave (cached per content). Raises ``UnknownWave`` or ``NoResponses``.

    The tree is the one frozen when the wave was launched; a wave without one (never launched
    through the app) uses the jurisdiction's current tree.
    """
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise UnknownWave(_l("There is no survey wave %(id)s.", id=wave_id))
    jurisdiction = session.get(Jurisdiction, wave.jurisdiction_id)
    assert jurisdiction is not None  # foreign key
    instrument = definition_of(wave.instrument)
    units, children, invited = wave_tree(session, wave)
    count, low, high = session.execute(
        select(func.count(Response.id), func.min(Response.id), func.max(Response.id)).where(
            Response.wave_id == wave_id
        )
    ).one()
    if not count:
        raise NoResponses(
            _l(
                "The %(year)s survey of %(jurisdiction)s has no responses yet: reports "
                "appear once answers have been stored.",
                year=wave.year,
                jurisdiction=jurisdiction.name,
            )
        )
    tree_tag = hashlib.sha256(
        repr(
            sorted(
                (u.id, u.parent_id, u.name, u.path, u.kind, invited.get(u.id, 0))
                for u in units.values()
            )
        ).encode()
    ).hexdigest()
    key = (
        "wave",
        wave_id,
        SCORING_VERSION,
        wave.min_report_n,
        instrument.key,
        instrument.version,
        jurisdiction.name,
        jurisdiction.slug,
        tree_tag,
        count,
        low,
        high,
    )

    def read() -> WaveData:
        return WaveData(
            key=key,
            wave_id=wave.id,
            year=wave.year,
            min_n=wave.min_report_n,
            jurisdiction_id=jurisdiction.id,
            jurisdiction_name=jurisdiction.name,
            jurisdiction_slug=jurisdiction.slug,
            instrument=instrument,
            units=units,
            children=children,
            frame=_responses(session, wave.id, instrument, units),
            tree={str(u.id): _text_id(u.parent_id) for u in units.values()},
            kinds={str(u.id): u.kind for u in units.values()},
            invited={str(u): n for u, n in invited.items()},
        )

    return cached(key, read)


def _text_id(unit_id: int | None) -> str | None:
    return None if unit_id is None else str(unit_id)


def wave_tree(
    session: Session, wave: Wave
) -> tuple[dict[int, UnitNode], dict[int, tuple[int, ...]], dict[int, int]]:
    """The wave's units, children per unit and invitations per unit (its own, not subtree)."""
    frozen = find_frozen_tree(session, wave.id)
    if frozen is not None:
        rows = [(u.id, u.name, u.path, u.kind, u.parent_id) for u in frozen]
        invited = {u.id: u.invited for u in frozen if u.invited}
    else:
        rows = [
            (r.id, r.name, r.path, str(r.kind), r.parent_id)
            for r in session.execute(
                select(OrgUnit.id, OrgUnit.name, OrgUnit.path, OrgUnit.kind, OrgUnit.parent_id)
                .where(OrgUnit.jurisdiction_id == wave.jurisdiction_id)
                .order_by(OrgUnit.path)
            )
        ]
        invited = {
            int(unit_id): int(n)
            for unit_id, n in session.execute(
                select(Invitation.unit_id, func.count())
                .where(Invitation.wave_id == wave.id)
                .group_by(Invitation.unit_id)
            )
        }
    parent_of = {r[0]: r[4] for r in rows}

    def depth(unit_id: int) -> int:
        d, up = 0, parent_of[unit_id]
        while up is not None:
            d, up = d + 1, parent_of.get(up)
        return d

    units = {r[0]: UnitNode(r[0], r[1], r[2], r[3], r[4], depth(r[0])) for r in rows}
    children: dict[int, list[int]] = {}
    for unit in units.values():
        if unit.parent_id is not None:
            children.setdefault(unit.parent_id, []).append(unit.id)
    return units, {k: tuple(v) for k, v in children.items()}, invited


def ancestors(units: Mapping[int, UnitNode], unit_id: int) -> list[int]:
    """The unit and every unit above it, nearest first."""
    out = [unit_id]
    while (up := units[out[-1]].parent_id) is not None:
        out.append(up)
    return out


def _responses(
    session: Session, wave_id: int, instrument: surveys.Instrument, units: Mapping[int, UnitNode]
) -> pd.DataFrame:
    rows = [
        (unit_id, answers, comment)
        for unit_id, answers, comment in session.execute(
            select(Response.unit_id, Response.answers, Response.comment)
            .where(Response.wave_id == wave_id)
            .order_by(Response.id)
        )
        if unit_id in units  # a launched wave's responses all belong to its frozen tree
    ]
    keys = list(instrument.item_keys)
    frame = pd.DataFrame.from_records(
        [{k: answers.get(k) for k in keys} for _, answers, _ in rows], columns=keys
    ).astype("float64")
    frame.insert(0, "unit", [str(unit_id) for unit_id, _, _ in rows])
    frame["comment"] = pd.Series([comment for _, _, comment in rows], dtype=object)
    return frame
