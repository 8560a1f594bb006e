"""The publication call: a wave's inputs handed to ``scoring.publish``, its decision returned.

Every output of a wave (report contexts, the report list, the dashboard, ZIPs, ``reports
build``) asks the :class:`WaveResults` built here, which only reads the publication: no
output decides on its own what may be shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
import surveys
from app.models import Wave
from app.services import benchmarks
from app.services.benchmarks import NO_SOURCES
from app.services.reports.errors import HiddenReason, NoResponses
from app.services.reports.results import UnitNode, WaveData, cached, load_wave


@dataclass(frozen=True, eq=False)
class WaveResults:
    """A wave on the tree it was launched on, with the one publication every output reads.

    ``publication`` includes the change from the earlier wave (``previous_year``) and the
    national benchmarks, built from the other jurisdictions' contributions only
    (:mod:`app.services.benchmarks`).
    """

    data: WaveData
    publication: scoring.Publication
    previous_year: int | None
    #: Who the national comparison was built from (never this wave's own jurisdiction).
    national_sources: benchmarks.Sources = NO_SOURCES

    @property
    def wave_id(self) -> int:
        return self.data.wave_id

    @property
    def year(self) -> int:
        return self.data.year

    @property
    def min_n(self) -> int:
        return self.data.min_n

    @property
    def jurisdiction_name(self) -> str:
        return self.data.jurisdiction_name

    @property
    def jurisdiction_slug(self) -> str:
        return self.data.jurisdiction_slug

    @property
    def instrument(self) -> surveys.Instrument:
        return self.data.instrument

    @property
    def units(self) -> Mapping[int, UnitNode]:
        return self.data.units

    @property
    def children(self) -> Mapping[int, tuple[int, ...]]:
        return self.data.children

    def unit(self, unit_id: int) -> scoring.UnitPublication:
        return self.publication.units[str(unit_id)]

    def shown(self, unit_id: int) -> bool:
        """Whether the unit has a report of its own."""
        return unit_id in self.units and self.unit(unit_id).shown

    def hidden_reason(self, unit_id: int) -> HiddenReason | None:
        """Why a unit has no report: too few answers, or to protect a smaller group."""
        if self.shown(unit_id):
            return None
        return _reason(self.unit(unit_id).hidden)

    def is_leaf(self, unit_id: int) -> bool:
        return not self.children.get(unit_id)

    def included_in(self, unit_id: int) -> UnitNode | None:
        """The nearest shown unit above a hidden one (None: nothing above is shown)."""
        parent = self.units[unit_id].parent_id
        while parent is not None:
            if self.shown(parent):
                return self.units[parent]
            parent = self.units[parent].parent_id
        return None

    def scale_pct(self, unit_id: int, scale_key: str) -> float | None:
        """The unit's published scale % positive, None unless shown."""
        if not self.shown(unit_id):
            return None
        cell = self.unit(unit_id).scales[scale_key]
        return cell.pct_positive if cell.shown else None

    def reliability(self) -> scoring.WaveScores:
        """The wave's scale reliability for the technical appendix (computed on first use)."""
        data = self.data
        return cached(
            ("reliability", *data.key),
            lambda: scoring.score(
                data.frame.drop(columns=["comment"]), data.instrument, min_n=data.min_n
            ),
        )


def _reason(hidden: scoring.Hidden | None) -> HiddenReason:
    if hidden is None or hidden.reason == "too_few":
        return "too_few"
    return "protects_smaller"


def label_reason(hidden: scoring.Hidden | None) -> HiddenReason:
    """The label of a hidden figure: "too_few" only for primary suppression."""
    return _reason(hidden)


def wave_results(session: Session, wave_id: int) -> WaveResults:
    """The wave's publication, with last year's change and the national benchmarks.

    The benchmarks come from the national store's contributions of every other jurisdiction
    whose current agreement allows them, never from another jurisdiction's rows. Cached per
    content of this wave, the earlier one and the contributions used. Raises ``UnknownWave``
    or ``NoResponses``.
    """
    data = load_wave(session, wave_id)
    previous = _previous(session, data)
    peers, sources = benchmarks.peers_for(
        session,
        year=data.year,
        instrument_key=data.instrument.key,
        instrument_version=data.instrument.version,
        leave_out=data.jurisdiction_slug,
    )
    key = (
        "published",
        data.key,
        None if previous is None else previous.key,
        sources.key,
    )

    def publish() -> scoring.Publication:
        return _publish(
            data,
            previous=None if previous is None else own_publication(previous),
            peers=peers,
        )

    return WaveResults(
        data, cached(key, publish), None if previous is None else previous.year, sources
    )


def own_publication(data: WaveData) -> scoring.Publication:
    """The wave's publication on its own (no change, no benchmarks): input to other waves."""
    return cached(("own", data.key), lambda: _publish(data))


def _publish(
    data: WaveData,
    *,
    previous: scoring.Publication | None = None,
    peers: scoring.Peers | None = None,
) -> scoring.Publication:
    """The one call of ``scoring.publish``: every input from the wave's own stored data."""
    question = data.instrument.comment
    comment_min_n = question.min_report_n if question is not None else 10
    return scoring.publish(
        data.frame,
        data.instrument,
        data.tree,
        min_n=data.min_n,
        comment_min_n=max(comment_min_n, data.min_n),
        comment_column="comment",
        invited=data.invited,
        kinds=data.kinds,
        previous=previous,
        peers=peers,
        jurisdiction=jurisdiction_tag(data.jurisdiction_id),
    )


def jurisdiction_tag(jurisdiction_id: int) -> str:
    """How a jurisdiction is named to the publication (never printed)."""
    return f"j{jurisdiction_id}"


def _previous(session: Session, data: WaveData) -> WaveData | None:
    """The same jurisdiction's latest earlier wave with responses."""
    earlier = session.scalars(
        select(Wave.id)
        .where(Wave.jurisdiction_id == data.jurisdiction_id, Wave.year < data.year)
        .order_by(Wave.year.desc())
    ).all()
    for wave_id in earlier:
        try:
            return load_wave(session, wave_id)
        except NoResponses:
            continue
    return None
