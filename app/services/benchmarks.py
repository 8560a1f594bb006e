"""National benchmarks, built from contributions only: the inputs every report's comparison uses.

What goes in. For a year and an instrument version, the national store's contributions
(approved in this deployment or imported from a signed file) that are not withdrawn and whose
jurisdiction's *current* agreement allows benchmarks: for a jurisdiction that lives in this
deployment, the level in force for that wave now is read as well (a lowered level removes it
at once); one that only sent a file withdraws with a signed notice. Lowering a level marks
the contributions above it withdrawn, so raising it again counts nothing until the
administrator approves a new contribution. A jurisdiction's newest contribution counts, once.
Each brings the published figures of its shown units (see
:func:`app.services.contributions.benchmark_figures`) and its whole wave's figure per scale.
No row and no hidden figure is ever read here.

The reader's own jurisdiction is never inside its own comparison (leave-one-out). If it were,
a jurisdiction that knows its own units' figures could take them back out of the order
statistics behind each percentile: with its values placed, a percentile interpolated between
one of its units and the next would hand it that next unit's exact figure, another
jurisdiction's, and the "≥ 5 jurisdictions, none above half" rule would in effect be counted
over only four others. Leaving it out, every percentile a jurisdiction reads summarises other
jurisdictions only, and the publication's rules (≥ 20 units from ≥ 5 jurisdictions, none
holding more than half; no percentile equal to a jurisdiction's own figure or sitting on or
between units that are each their jurisdiction's only one of the kind) are applied to exactly
that set. The price: a jurisdiction needs five *others* that share. The national
coordinator, who is no jurisdiction, sees the distribution over every sharing jurisdiction
(:func:`national_benchmarks`); that view must not be shown to a jurisdiction's readers, who
could otherwise set it beside their own leave-one-out view and difference the two.

Withdrawal. A jurisdiction that contributed and no longer may is left out of every output
built afterwards, and the outputs say so: "N jurisdictions; one withdrew on DATE". Reports
read by jurisdictions give the date only, never the name: a named withdrawal, set beside the
benchmark of a report built before it, would tie the difference between the two to that
jurisdiction. The coordinator, who holds the agreements anyway, sees the names. What remains:
the percentiles before and after a withdrawal, read together, still say something about the
departed jurisdiction's units as a group (DESIGN.md's "two reports of different dates").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
import surveys
from app.models import (
    Instrument,
    Jurisdiction,
    ReceivedContribution,
    SharingAgreement,
    SharingLevel,
    Wave,
)
from scoring.publication import national_benchmark

#: The order in which unit kinds are listed (largest first); unknown kinds follow by name.
KIND_ORDER = ("agency", "region", "office", "team")


@dataclass(frozen=True)
class Withdrawal:
    """A jurisdiction that contributed and no longer may: when (and, for the coordinator, who)."""

    on: date
    name: str | None = None


@dataclass(frozen=True)
class Sources:
    """Who a national comparison was built from: a count, names only for the coordinator."""

    jurisdictions: int
    names: tuple[str, ...]
    withdrawals: tuple[Withdrawal, ...]
    #: The contributions used (for cache keys and for checking), ``(contribution id, slug)``.
    contributions: tuple[tuple[str, str], ...]

    @property
    def key(self) -> tuple[object, ...]:
        return (self.contributions, tuple((w.on, w.name) for w in self.withdrawals))


#: A comparison built from nothing.
NO_SOURCES = Sources(0, (), (), ())


@dataclass(frozen=True)
class NationalCell:
    """One (unit kind, scale) of the national benchmarks: percentiles, or why not shown."""

    kind: str
    scale: str
    scale_title: str
    higher_is_better: bool
    shown: bool
    reason: str | None
    p10: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p90: float | None
    n_units: int | None
    n_jurisdictions: int | None
    #: The scale's title in each language the instrument has (``scale_title`` is the English).
    scale_titles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NationalBenchmarks:
    """The national benchmarks of a year and instrument version, as plain data to render."""

    year: int
    instrument_key: str
    instrument_version: str
    sources: Sources
    cells: tuple[NationalCell, ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        seen: list[str] = []
        for cell in self.cells:
            if cell.kind not in seen:
                seen.append(cell.kind)
        return tuple(seen)

    def for_kind(self, kind: str) -> tuple[NationalCell, ...]:
        return tuple(c for c in self.cells if c.kind == kind)


def tag(slug: str) -> str:
    """How a contributing jurisdiction is named to the publication (never printed)."""
    return f"c:{slug}"


def _local_level(session: Session, slug: str, year: int) -> tuple[bool, SharingAgreement | None]:
    """Whether ``slug`` lives in this deployment with a wave that year, and its agreement now."""
    wave_ids = session.scalars(
        select(Wave.id)
        .join(Jurisdiction, Jurisdiction.id == Wave.jurisdiction_id)
        .where(Jurisdiction.slug == slug, Wave.year == year)
    ).all()
    if not wave_ids:
        return False, None
    latest = session.scalars(
        select(SharingAgreement)
        .where(SharingAgreement.wave_id.in_(wave_ids))
        .order_by(SharingAgreement.id.desc())
        .limit(1)
    ).first()
    return True, latest


def _select(
    session: Session, year: int, key: str, version: str
) -> tuple[list[ReceivedContribution], list[tuple[str, Withdrawal]]]:
    """The contributions a national comparison may use now, and the withdrawals since."""
    rows = session.scalars(
        select(ReceivedContribution)
        .where(
            ReceivedContribution.year == year,
            ReceivedContribution.instrument_key == key,
            ReceivedContribution.instrument_version == version,
        )
        .order_by(ReceivedContribution.received_at.desc(), ReceivedContribution.id.desc())
    ).all()
    by_slug: dict[str, list[ReceivedContribution]] = {}
    for row in rows:
        if row.level.rank >= SharingLevel.BENCHMARK.rank and row.payload.get("benchmark"):
            by_slug.setdefault(row.jurisdiction_slug, []).append(row)
    usable: list[ReceivedContribution] = []
    withdrawals: list[tuple[str, Withdrawal]] = []
    for slug, received in sorted(by_slug.items()):
        local, agreement = _local_level(session, slug, year)
        allowed = not local or (
            agreement is not None and agreement.level.rank >= SharingLevel.BENCHMARK.rank
        )
        live = [r for r in received if r.withdrawn_at is None]
        if allowed and live:
            usable.append(live[0])
            continue
        if local and not allowed:
            when = agreement.set_at if agreement is not None else received[0].received_at
        else:
            when = max(r.withdrawn_at for r in received if r.withdrawn_at is not None)
        withdrawals.append((slug, Withdrawal(_day(when), received[0].jurisdiction_name)))
    return usable, sorted(withdrawals, key=lambda sw: (sw[1].on, sw[0]))


def _day(moment: datetime) -> date:
    return moment.date()


def _peer_units(received: ReceivedContribution) -> tuple[list[scoring.PeerUnit], dict[str, float]]:
    section: dict[str, Any] = received.payload["benchmark"]
    who = tag(received.jurisdiction_slug)
    units = [
        scoring.PeerUnit(who, kind, scale, float(figure[0]))
        for kind, by_scale in section.get("units", {}).items()
        for scale, figures in by_scale.items()
        for figure in figures
    ]
    overall = {scale: float(v) for scale, v in section.get("overall", {}).items()}
    return units, overall


def peers_for(
    session: Session,
    *,
    year: int,
    instrument_key: str,
    instrument_version: str,
    leave_out: str | None,
    named: bool = False,
) -> tuple[scoring.Peers, Sources]:
    """The benchmark input of ``scoring.publish`` for a reader, and who it was built from.

    ``leave_out`` is the reader's jurisdiction slug (its own contribution never counts; see the
    module's docstring); ``None`` only for the national coordinator. ``named`` keeps the
    jurisdictions' names in the sources (coordinator only).
    """
    usable, withdrawals = _select(session, year, instrument_key, instrument_version)
    usable = [r for r in usable if r.jurisdiction_slug != leave_out]
    # The reader's own withdrawal is no news to it, and its figures are never in its view.
    withdrawn = [w for slug, w in withdrawals if slug != leave_out]
    units: list[scoring.PeerUnit] = []
    figures: dict[tuple[str, str], float] = {}
    for row in usable:
        mine, overall = _peer_units(row)
        units += mine
        for scale, value in overall.items():
            figures[(tag(row.jurisdiction_slug), scale)] = value
    peers = scoring.Peers(units, frozenset(tag(r.jurisdiction_slug) for r in usable), figures)
    sources = Sources(
        jurisdictions=len(usable),
        names=tuple(sorted(r.jurisdiction_name for r in usable)) if named else (),
        withdrawals=tuple(w if named else Withdrawal(w.on) for w in withdrawn),
        contributions=tuple((r.contribution_id, r.jurisdiction_slug) for r in usable),
    )
    return peers, sources


def _instrument(session: Session, key: str, version: str) -> surveys.Instrument | None:
    from app.services.instruments import definition_of

    row = session.scalars(
        select(Instrument).where(Instrument.key == key, Instrument.version == version)
    ).first()
    if row is not None:
        return definition_of(row)
    return surveys.find_instrument(key, version)


def national_benchmarks(
    session: Session,
    *,
    year: int,
    instrument_key: str | None = None,
    instrument_version: str | None = None,
    reader_slug: str | None = None,
) -> NationalBenchmarks | None:
    """The national benchmarks of a year, from contributions only, for the coordinator's home.

    Every (unit kind, scale) the contributions hold, shown or with the reason it is not, by
    the publication's national rules. ``reader_slug`` None is the coordinator's view over
    every sharing jurisdiction, with names; a jurisdiction's reader gets its leave-one-out
    view without names. The instrument defaults to the one most contributions of the year
    use. None when nothing was ever contributed for that year.
    """
    if instrument_key is None or instrument_version is None:
        pairs = session.execute(
            select(
                ReceivedContribution.instrument_key, ReceivedContribution.instrument_version
            ).where(ReceivedContribution.year == year)
        ).all()
        if not pairs:
            return None
        counted: dict[tuple[str, str], int] = {}
        for k, v in pairs:
            counted[(k, v)] = counted.get((k, v), 0) + 1
        instrument_key, instrument_version = max(sorted(counted), key=lambda pair: counted[pair])
    instrument = _instrument(session, instrument_key, instrument_version)
    if instrument is None:
        return None
    peers, sources = peers_for(
        session,
        year=year,
        instrument_key=instrument_key,
        instrument_version=instrument_version,
        leave_out=reader_slug,
        named=reader_slug is None,
    )
    present = {u.kind for u in peers.units}
    kinds = [k for k in KIND_ORDER if k in present] + sorted(present - set(KIND_ORDER))
    cells = []
    for kind in kinds:
        for scale in instrument.scales:
            cell = national_benchmark(peers, kind, scale.key)
            cells.append(
                NationalCell(
                    kind=kind,
                    scale=scale.key,
                    scale_title=scale.title.get("en") or scale.key,
                    higher_is_better=scale.higher_is_better,
                    shown=cell.shown,
                    reason=None if cell.hidden is None else cell.hidden.reason,
                    p10=cell.p10,
                    p25=cell.p25,
                    p50=cell.p50,
                    p75=cell.p75,
                    p90=cell.p90,
                    n_units=cell.n_units,
                    n_jurisdictions=cell.n_jurisdictions,
                    scale_titles=dict(scale.title),
                )
            )
    return NationalBenchmarks(year, instrument_key, instrument_version, sources, tuple(cells))
