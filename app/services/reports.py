"""Report data: a wave's responses scored at every level of the org tree, turned into contexts.

Disclosure is decided once per wave in :func:`_decide_hidden` and every output (the report
list, each PDF's numbers, heatmaps, response rates, comments, percentiles and benchmarks) asks
:meth:`WaveResults.shown` before printing anything about a unit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import scoring
import surveys
from app.models import Invitation, Jurisdiction, OrgUnit, Response, User, Wave
from app.reporting import (
    Benchmark,
    HeatmapCell,
    HeatmapRow,
    ItemRow,
    PsychometricRow,
    ReportCacheKey,
    ReportContext,
    ResponseRateRow,
    ScaleSummary,
    TrendCell,
    cached_pdf,
    render_pdf,
)
from app.reporting.cache import fingerprint
from app.reporting.context import PageSize, ReliabilityStatus
from app.reporting.strings import positive_label
from app.services import access, audit
from app.services.instruments import definition_of

#: Changes whenever the scoring code changes, so cached results and PDFs are recomputed.
SCORING_VERSION: str = fingerprint(Path(scoring.__file__).resolve().parent.glob("*.py"))
#: rwg(j) below this: "the team sees this differently — discuss before acting".
LOW_AGREEMENT = 0.70
#: ICC(2) below this: differences between teams are not reliably detectable.
LOW_ICC2 = 0.60
_HIGHLIGHTS = 3
_RESULTS_CACHE_SIZE = 64
_STATUS: dict[str, ReliabilityStatus] = {
    "ok": "published",
    "unstable": "unstable",
    "insufficient": "not_shown",
}

ReportKind = Literal["team", "unit"]


class ReportError(Exception):
    """A report that cannot be produced; the message says why in words a leader understands."""


class UnknownWave(ReportError):
    """No such wave."""


class UnknownUnit(ReportError):
    """No such unit in the wave's jurisdiction."""


class NoResponses(ReportError):
    """The wave has no stored responses yet."""


class UnitSuppressed(ReportError):
    """The unit is too small to report on its own; its answers count in ``included_in``."""

    def __init__(self, unit_name: str, included_in: str | None, min_n: int) -> None:
        self.unit_name = unit_name
        self.included_in = included_in
        self.min_n = min_n
        where = f" Its answers are included in the report of {included_in}." if included_in else ""
        super().__init__(
            f"There is no separate report for {unit_name}: results are shown only for groups "
            f"of at least {min_n} people, and only where a smaller group cannot be worked out "
            f"by subtraction.{where}"
        )


# --------------------------------------------------------------------------- scored waves


@dataclass(frozen=True)
class UnitNode:
    """One org unit as the reports see it."""

    id: int
    name: str
    path: str
    kind: str
    parent_id: int | None
    depth: int


@dataclass(frozen=True, eq=False)
class _Scored:
    """The heavy, cacheable part of a wave: scores per level and the disclosure decision."""

    leaf: scoring.WaveScores
    levels: Mapping[int, scoring.WaveScores]
    hidden: frozenset[int]
    item_hidden: Mapping[str, frozenset[int]]
    responses: Mapping[int, int]
    counted: Mapping[int, int]


@dataclass(frozen=True, eq=False)
class WaveResults:
    """A wave scored at every level of its jurisdiction's tree, with the disclosure decision."""

    wave_id: int
    year: int
    jurisdiction_id: int
    jurisdiction_name: str
    shares_benchmarks: bool
    instrument: surveys.Instrument
    min_n: int
    units: Mapping[int, UnitNode]
    children: Mapping[int, tuple[int, ...]]
    scored: _Scored
    invited: Mapping[int, int] = field(default_factory=dict)

    def shown(self, unit_id: int) -> bool:
        """Whether the unit may appear with numbers (the one disclosure question)."""
        return unit_id in self.units and unit_id not in self.scored.hidden

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

    def responses(self, unit_id: int) -> int:
        """Stored responses in the unit's subtree."""
        return self.scored.responses.get(unit_id, 0)

    def level(self, unit_id: int) -> scoring.WaveScores:
        return self.scored.levels[self.units[unit_id].depth]

    def scale_pct(self, unit_id: int, scale_key: str) -> float | None:
        """The unit's scale % positive, None unless shown."""
        if not self.shown(unit_id):
            return None
        result = self.level(unit_id).scales[scale_key].units.get(str(unit_id))
        return None if result is None or result.suppressed else result.pct.positive


_cache: OrderedDict[tuple[object, ...], _Scored] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every scored wave (tests, or after re-importing responses)."""
    with _cache_lock:
        _cache.clear()
        _compare_cache.clear()


def wave_results(session: Session, wave_id: int) -> WaveResults:
    """Score a wave once per level of its org tree (cached per wave, content and scoring version).

    Raises ``UnknownWave`` or ``NoResponses``.
    """
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise UnknownWave(f"There is no survey wave {wave_id}.")
    jurisdiction = session.get(Jurisdiction, wave.jurisdiction_id)
    assert jurisdiction is not None  # foreign key
    instrument = definition_of(wave.instrument)
    units, children = _tree(session, wave.jurisdiction_id)
    count, low, high = session.execute(
        select(func.count(Response.id), func.min(Response.id), func.max(Response.id)).where(
            Response.wave_id == wave_id
        )
    ).one()
    if not count:
        raise NoResponses(
            f"The {wave.year} survey of {jurisdiction.name} has no responses yet: reports "
            "appear once answers have been stored."
        )
    tree_tag = hashlib.sha256(
        repr(sorted((u.id, u.parent_id) for u in units.values())).encode()
    ).hexdigest()
    key = (
        wave_id,
        SCORING_VERSION,
        wave.min_report_n,
        instrument.key,
        instrument.version,
        tree_tag,
        count,
        low,
        high,
    )
    with _cache_lock:
        scored = _cache.get(key)
        if scored is not None:
            _cache.move_to_end(key)
    if scored is None:
        scored = _score_wave(session, wave, instrument, units)
        with _cache_lock:
            _cache[key] = scored
            while len(_cache) > _RESULTS_CACHE_SIZE:
                _cache.popitem(last=False)
    per_unit = session.execute(
        select(Invitation.unit_id, func.count())
        .where(Invitation.wave_id == wave_id)
        .group_by(Invitation.unit_id)
    ).all()
    invited = _subtree_totals(units, {unit_id: int(n) for unit_id, n in per_unit})
    return WaveResults(
        wave_id=wave.id,
        year=wave.year,
        jurisdiction_id=jurisdiction.id,
        jurisdiction_name=jurisdiction.name,
        shares_benchmarks=jurisdiction.shares_benchmarks,
        instrument=instrument,
        min_n=wave.min_report_n,
        units=units,
        children=children,
        scored=scored,
        invited=invited,
    )


def _tree(
    session: Session, jurisdiction_id: int
) -> tuple[dict[int, UnitNode], dict[int, tuple[int, ...]]]:
    rows = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.path, OrgUnit.kind, OrgUnit.parent_id)
        .where(OrgUnit.jurisdiction_id == jurisdiction_id)
        .order_by(OrgUnit.path)
    ).all()
    parent_of = {r.id: r.parent_id for r in rows}

    def depth(unit_id: int) -> int:
        d, up = 0, parent_of[unit_id]
        while up is not None:
            d, up = d + 1, parent_of.get(up)
        return d

    units = {
        r.id: UnitNode(r.id, r.name, r.path, str(r.kind), r.parent_id, depth(r.id)) for r in rows
    }
    children: dict[int, list[int]] = {}
    for unit in units.values():
        if unit.parent_id is not None:
            children.setdefault(unit.parent_id, []).append(unit.id)
    return units, {k: tuple(v) for k, v in children.items()}


def _ancestors(units: Mapping[int, UnitNode], unit_id: int) -> list[int]:
    """The unit and every unit above it, nearest first."""
    out = [unit_id]
    while (up := units[out[-1]].parent_id) is not None:
        out.append(up)
    return out


def _subtree_totals(units: Mapping[int, UnitNode], direct: Mapping[int, int]) -> dict[int, int]:
    totals: dict[int, int] = dict.fromkeys(units, 0)
    for unit_id, n in direct.items():
        if unit_id in units:
            for up in _ancestors(units, unit_id):
                totals[up] += int(n)
    return totals


def _score_wave(
    session: Session, wave: Wave, instrument: surveys.Instrument, units: Mapping[int, UnitNode]
) -> _Scored:
    rows = session.execute(
        select(Response.unit_id, Response.answers)
        .where(Response.wave_id == wave.id)
        .order_by(Response.id)
    ).all()
    keys = list(instrument.item_keys)
    frame = pd.DataFrame.from_records(
        [{k: answers.get(k) for k in keys} for _, answers in rows], columns=keys
    ).astype("float64")
    unit_ids = [unit_id for unit_id, _ in rows]
    frame.insert(0, "unit", [str(u) for u in unit_ids])
    tree = {str(u.id): None if u.parent_id is None else str(u.parent_id) for u in units.values()}
    leaf = scoring.score(frame, instrument, min_n=wave.min_report_n, tree=tree)

    levels: dict[int, scoring.WaveScores] = {}
    for depth in sorted({u.depth for u in units.values()}):
        mapped = [_ancestor_at(units, u, depth) for u in unit_ids]
        keep = [m is not None for m in mapped]
        if not any(keep):
            continue
        level_frame = frame.loc[keep].copy()
        level_frame["unit"] = [str(m) for m in mapped if m is not None]
        # The level's own suppression also runs over the real tree: a flat list of a level's
        # units would hide a sibling in another office to protect the overall figure.
        levels[depth] = scoring.score(level_frame, instrument, min_n=wave.min_report_n, tree=tree)

    direct_responses: dict[int, int] = {}
    for u in unit_ids:
        direct_responses[u] = direct_responses.get(u, 0) + 1
    counted_direct: dict[int, int] = {}
    for label in leaf.respondent_scores["unit"]:
        counted_direct[int(label)] = counted_direct.get(int(label), 0) + 1
    hidden, item_hidden = _decide_hidden(leaf, levels, tree, direct_responses, units, wave)
    return _Scored(
        leaf=leaf,
        levels=levels,
        hidden=hidden,
        item_hidden=item_hidden,
        responses=_subtree_totals(units, direct_responses),
        counted=_subtree_totals(units, counted_direct),
    )


def _ancestor_at(units: Mapping[int, UnitNode], unit_id: int, depth: int) -> int | None:
    chain = _ancestors(units, unit_id)
    node_depth = units[unit_id].depth
    if node_depth < depth:
        return None
    return chain[node_depth - depth]


def _decide_hidden(
    leaf: scoring.WaveScores,
    levels: Mapping[int, scoring.WaveScores],
    tree: Mapping[str, str | None],
    direct_responses: Mapping[int, int],
    units: Mapping[int, UnitNode],
    wave: Wave,
) -> tuple[frozenset[int], dict[str, frozenset[int]]]:
    """The disclosure decision of a wave: hidden units, and per item the units hiding it.

    A unit is hidden if any scale's complementary suppression over the whole tree hides it
    (``ScaleResult.hidden`` of the leaf scoring), if suppression over response counts hides
    it, or if its own level's scoring suppresses it on any scale. Hiding more than a safe
    decision is itself safe: hiding a shown node only adds its own remainder (0 or ≥ min n)
    to the remainder of the node above, so the union keeps every remainder 0 or ≥ min n.
    Items are decided the same way on their answer counts, on top of the unit decision.
    """
    min_n = wave.min_report_n
    names: set[str] = set()
    for result in leaf.scales.values():
        names |= result.hidden
    names |= scoring.suppress(tree, {str(k): v for k, v in direct_responses.items()}, min_n)
    for level in levels.values():
        for result in level.scales.values():
            for name in result.units:
                if result.units[name].suppressed:
                    names.add(name)
    hidden = frozenset(int(n) for n in names if n.isdigit() and int(n) in units)
    hidden |= frozenset(u for u in units if str(u) not in tree)  # defensive: unknown nodes
    item_hidden: dict[str, frozenset[int]] = {}
    for key, item in leaf.items.items():
        counts = {name: item.units[name].n for name in item.units}
        item_names = scoring.suppress(tree, counts, min_n)
        for level in levels.values():
            level_item = level.items[key]
            item_names |= {n for n in level_item.units if level_item.units[n].suppressed}
        item_hidden[key] = frozenset(int(n) for n in item_names if n.isdigit()) | hidden
    return hidden, item_hidden


# --------------------------------------------------------------------------- report list


@dataclass(frozen=True)
class ReportEntry:
    """One unit of a wave: a downloadable report, or "included in <parent>" with no numbers."""

    unit_id: int
    name: str
    path: str
    unit_kind: str
    kind: ReportKind
    depth: int
    shown: bool
    included_in: str | None
    filename: str


def slugify_path(path: str) -> str:
    """File name stem of a unit path: ``Region 1 / North Office`` → ``region-1__north-office``."""
    if not path:
        return "agency"
    parts = [
        re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") or "unit" for part in path.split("/")
    ]
    return "__".join(parts)


def list_reports(session: Session, wave_id: int) -> list[ReportEntry]:
    """Every unit of the wave's jurisdiction, by path: shown ones with a report file name."""
    results = wave_results(session, wave_id)
    return _entries(results)


def _entries(results: WaveResults) -> list[ReportEntry]:
    entries = []
    for unit in sorted(results.units.values(), key=lambda u: u.path):
        shown = results.shown(unit.id)
        above = None if shown else results.included_in(unit.id)
        entries.append(
            ReportEntry(
                unit_id=unit.id,
                name=unit.name,
                path=unit.path,
                unit_kind=unit.kind,
                kind="team" if results.is_leaf(unit.id) else "unit",
                depth=unit.depth,
                shown=shown,
                included_in=None if shown or above is None else above.name,
                filename=slugify_path(unit.path) + ".pdf",
            )
        )
    return entries


# --------------------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class _Group:
    """Scale % positive of shown units of one kind in a comparison group."""

    values: Mapping[str, np.ndarray]
    n_jurisdictions: int


@dataclass(frozen=True)
class _National:
    published: bool
    note: str | None
    groups: Mapping[str, _Group]
    item_pct: Mapping[str, float]


def _group_of(results: Sequence[WaveResults], kind: str, scale_keys: Sequence[str]) -> _Group:
    values: dict[str, list[float]] = {k: [] for k in scale_keys}
    contributing: set[int] = set()
    for res in results:
        for unit in res.units.values():
            if unit.kind != kind or not res.shown(unit.id):
                continue
            for key in scale_keys:
                pct = res.scale_pct(unit.id, key)
                if pct is not None:
                    values[key].append(pct)
                    contributing.add(res.jurisdiction_id)
    return _Group({k: np.sort(np.array(v)) for k, v in values.items()}, len(contributing))


def _national(session: Session, results: WaveResults, min_jurisdictions: int) -> _National:
    """Benchmarks of every benchmark-sharing jurisdiction's wave of the same instrument and year."""
    instrument = results.instrument
    waves = session.scalars(
        select(Wave.id)
        .join(Jurisdiction, Jurisdiction.id == Wave.jurisdiction_id)
        .where(Wave.year == results.year, Jurisdiction.shares_benchmarks.is_(True))
        .order_by(Wave.id)
    ).all()
    peers: list[WaveResults] = []
    for other_id in waves:
        try:
            other = results if other_id == results.wave_id else wave_results(session, other_id)
        except NoResponses:
            continue
        if (other.instrument.key, other.instrument.version) == (instrument.key, instrument.version):
            peers.append(other)
    contributing = {p.jurisdiction_id for p in peers if any(p.shown(u) for u in p.units)}
    if len(contributing) < min_jurisdictions:
        note = (
            f"Not published: fewer than {min_jurisdictions} jurisdictions contribute to the "
            "national comparison."
        )
        return _National(False, note, {}, {})
    scale_keys = [s.key for s in instrument.scales]
    kinds = {u.kind for p in peers for u in p.units.values()}
    groups = {kind: _group_of(peers, kind, scale_keys) for kind in kinds}
    item_pct: dict[str, float] = {}
    for key in instrument.item_keys:
        n = positive = 0.0
        for p in peers:
            item = p.scored.leaf.items[key]
            if item.pct.positive is not None:
                n += item.n
                positive += item.pct.positive * item.n / 100.0
        if n:
            item_pct[key] = 100.0 * positive / n
    return _National(True, None, groups, item_pct)


def _percentile(values: np.ndarray, value: float, higher_is_better: bool) -> float | None:
    """Mid-rank of ``value`` among ``values`` (ties count half), turned for lower-is-better."""
    if values.size == 0:
        return None
    r = np.round(values, 9)
    v = round(value, 9)
    below = int(np.searchsorted(r, v, side="left"))
    ties = int(np.searchsorted(r, v, side="right")) - below
    # ties == 0: the unit is not part of the group (its jurisdiction does not share).
    rank = 100.0 * (below + ties / 2.0) / values.size
    return rank if higher_is_better else 100.0 - rank


def _benchmark(values: np.ndarray, n_jurisdictions: int) -> Benchmark | None:
    if values.size < 2:
        return None
    p10, p25, p50, p75, p90 = (
        float(x) for x in np.percentile(values, [10, 25, 50, 75, 90], method="linear")
    )
    return Benchmark(p10, p25, p50, p75, p90, int(values.size), n_jurisdictions)


def _previous(session: Session, results: WaveResults) -> WaveResults | None:
    """The same jurisdiction's latest earlier wave with responses, scored."""
    earlier = session.scalars(
        select(Wave.id)
        .where(Wave.jurisdiction_id == results.jurisdiction_id, Wave.year < results.year)
        .order_by(Wave.year.desc())
    ).all()
    for wave_id in earlier:
        try:
            return wave_results(session, wave_id)
        except NoResponses:
            continue
    return None


#: (id before, id after, depth) → (before, after, comparison); keeping both keeps ids valid.
_compare_cache: OrderedDict[
    tuple[int, int, int], tuple[scoring.WaveScores, scoring.WaveScores, scoring.Comparison]
] = OrderedDict()


def _comparison(before: WaveResults, after: WaveResults, depth: int) -> scoring.Comparison | None:
    b, a = before.scored.levels.get(depth), after.scored.levels.get(depth)
    if b is None or a is None:
        return None
    key = (id(b), id(a), depth)
    with _cache_lock:
        hit = _compare_cache.get(key)
    if hit is not None and hit[0] is b and hit[1] is a:
        return hit[2]
    found = scoring.compare(b, a)
    with _cache_lock:
        _compare_cache[key] = (b, a, found)
        while len(_compare_cache) > _RESULTS_CACHE_SIZE:
            _compare_cache.popitem(last=False)
    return found


# --------------------------------------------------------------------------- the context


def get_unit(results: WaveResults, unit_id: int) -> UnitNode:
    unit = results.units.get(unit_id)
    if unit is None:
        raise UnknownUnit(f"There is no unit {unit_id} in this survey.")
    return unit


def build_context(
    session: Session,
    wave_id: int,
    unit_id: int,
    *,
    language: str = "en",
    page_size: PageSize = "A4",
    min_jurisdictions: int = 5,
    today: date | None = None,
) -> ReportContext:
    """Everything one unit's report shows, as plain data.

    Raises ``UnknownWave``, ``UnknownUnit``, ``NoResponses`` or ``UnitSuppressed``.
    """
    results = wave_results(session, wave_id)
    unit = get_unit(results, unit_id)
    if not results.shown(unit_id):
        above = results.included_in(unit_id)
        raise UnitSuppressed(unit.name, None if above is None else above.name, results.min_n)
    instrument = results.instrument
    level = results.level(unit_id)
    national = _national(session, results, min_jurisdictions)
    local = _group_of([results], unit.kind, [s.key for s in instrument.scales])
    local_note = None
    if local.values and min(v.size for v in local.values.values()) < 2:
        local_note = f"No jurisdiction comparison: there is only one {unit.kind} to compare."
    previous = _previous(session, results)
    comparison = None
    if previous is not None and previous.shown(unit_id) and unit_id in previous.units:
        comparison = _comparison(previous, results, unit.depth)

    scales: list[ScaleSummary] = []
    for scale in instrument.scales:
        scales.append(
            _scale_summary(
                results,
                unit,
                scale,
                level,
                language,
                local,
                local_note,
                national,
                comparison,
                None if previous is None else previous.year,
            )
        )
    items = [item for s in scales for item in s.items]
    direction = {s.key: s.higher_is_better for s in scales}

    def goodness(item: ItemRow) -> float:
        return item.pct_positive if direction[item.scale_key] else 100.0 - item.pct_positive

    ranked = sorted(items, key=lambda i: (-goodness(i), i.key))
    strengths = tuple(ranked[:_HIGHLIGHTS])
    worst = sorted(items, key=lambda i: (goodness(i), i.key))
    opportunities = tuple(i for i in worst[:_HIGHLIGHTS] if i not in strengths)

    is_team = results.is_leaf(unit_id)
    children: list[HeatmapRow] = []
    rates: list[ResponseRateRow] = []
    if not is_team:
        for child_id in sorted(
            results.children.get(unit_id, ()), key=lambda c: results.units[c].name
        ):
            child = results.units[child_id]
            if results.shown(child_id):
                children.append(
                    HeatmapRow(
                        child.name,
                        cells=tuple(
                            HeatmapCell(s.key, results.scale_pct(child_id, s.key))
                            for s in instrument.scales
                        ),
                    )
                )
                rates.append(_rate_row(results, child))
            else:
                children.append(HeatmapRow(child.name, included_in=unit.name))
                rates.append(ResponseRateRow(child.name, included_in=unit.name))

    responses = results.responses(unit_id)
    invited = results.invited.get(unit_id, 0)
    comments, question = _comments(session, results, unit_id, language)
    kind: ReportKind = "team" if is_team else "unit"
    parents = tuple(results.units[a].name for a in _ancestors(results.units, unit_id)[1:])
    report_word = "team safety culture report" if is_team else "safety culture report"
    return ReportContext(
        kind=kind,
        title=f"{unit.name}: {report_word} {results.year}",
        unit_name=unit.name,
        unit_kind=unit.kind,
        parent_path=parents,
        jurisdiction_name=results.jurisdiction_name,
        wave_year=results.year,
        responses=responses,
        invited=invited,
        response_rate=100.0 * responses / invited if invited else 0.0,
        min_report_n=results.min_n,
        generated_on=today or date.today(),
        scales=tuple(scales),
        language=language,
        page_size=page_size,
        previous_year=None if comparison is None or previous is None else previous.year,
        excluded_straightlining=max(0, responses - results.scored.counted.get(unit_id, 0)),
        strengths=strengths,
        opportunities=opportunities,
        jurisdiction_benchmark_note=local_note,
        national_benchmark_note=national.note,
        children=tuple(children),
        response_rates=tuple(rates),
        psychometrics=() if is_team else _psychometrics(results, language),
        comments=comments,
        comment_question=question,
        scoring_version=SCORING_VERSION,
    )


def _text(text: Mapping[str, str], language: str) -> str:
    return text.get(language) or text.get("en") or next(iter(text.values()), "")


def _scale_summary(
    results: WaveResults,
    unit: UnitNode,
    scale: surveys.Scale,
    level: scoring.WaveScores,
    language: str,
    local: _Group,
    local_note: str | None,
    national: _National,
    comparison: scoring.Comparison | None,
    previous_year: int | None,
) -> ScaleSummary:
    title = _text(scale.title, language)
    label = positive_label(title, scale.higher_is_better, language)
    result = level.scales[scale.key].units[str(unit.id)]
    if result.suppressed or result.pct.positive is None:
        return ScaleSummary(
            scale.key, title, scale.higher_is_better, label, result.n, None, None, None
        )
    pct = result.pct.positive
    items = []
    for item in scale.items:
        if unit.id in results.scored.item_hidden[item.key]:
            continue
        row = level.items[item.key].units[str(unit.id)]
        if row.suppressed or row.pct.positive is None:
            continue
        items.append(
            ItemRow(
                key=item.key,
                scale_key=scale.key,
                text=_text(item.text, language),
                n=row.n,
                pct_negative=row.pct.negative or 0.0,
                pct_neutral=row.pct.neutral or 0.0,
                pct_positive=row.pct.positive,
                reverse=item.reverse,
                jurisdiction_pct_positive=results.scored.leaf.items[item.key].pct.positive,
                national_pct_positive=national.item_pct.get(item.key),
            )
        )
    trend = None
    if comparison is not None and previous_year is not None:
        change = comparison.units.get(scale.key, {}).get(str(unit.id))
        if change is not None:
            p = change.p_value
            trend = TrendCell(
                previous_year=previous_year,
                delta_points=change.delta_pct_positive,
                meaningful=change.meaningful,
                welch_agrees=None if p is None else (p < 0.05) == change.meaningful,
                p_value=p,
            )
    local_values = local.values.get(scale.key, np.array([]))
    national_group = national.groups.get(unit.kind)
    national_values = (
        national_group.values.get(scale.key, np.array([])) if national_group else np.array([])
    )
    is_team = results.is_leaf(unit.id)
    rwg = result.rwg_j if is_team else None
    return ScaleSummary(
        key=scale.key,
        title=title,
        higher_is_better=scale.higher_is_better,
        label=label,
        n=result.n,
        pct_positive=pct,
        pct_neutral=result.pct.neutral,
        pct_negative=result.pct.negative,
        mean=result.mean,
        ci=result.ci,
        trend=trend,
        percentile_jurisdiction=None
        if local_note
        else _percentile(local_values, pct, scale.higher_is_better),
        percentile_national=_percentile(national_values, pct, scale.higher_is_better)
        if national.published
        else None,
        rwg_j=rwg,
        low_agreement=rwg is not None and rwg < LOW_AGREEMENT,
        items=tuple(items),
        jurisdiction_benchmark=None if local_note else _benchmark(local_values, 1),
        national_benchmark=_benchmark(national_values, national_group.n_jurisdictions)
        if national.published and national_group
        else None,
    )


def _rate_row(results: WaveResults, unit: UnitNode) -> ResponseRateRow:
    responses = results.responses(unit.id)
    invited = results.invited.get(unit.id, 0)
    rate = 100.0 * responses / invited if invited else None
    return ResponseRateRow(unit.name, responses, invited, rate)


def _psychometrics(results: WaveResults, language: str) -> tuple[PsychometricRow, ...]:
    rows = []
    for scale in results.instrument.scales:
        result = results.scored.leaf.scales[scale.key]
        rel = result.reliability
        status = _STATUS.get(rel.status, "not_shown")
        shown = status != "not_shown"
        alpha = _finite(rel.alpha) if shown else None
        flag: Literal["red", "amber"] | None = None
        if alpha is not None:
            flag = "red" if alpha < 0.60 else "amber" if alpha < 0.70 else None
        rows.append(
            PsychometricRow(
                scale_key=scale.key,
                title=_text(scale.title, language),
                n_complete=rel.n_complete,
                status=status,
                alpha=alpha,
                omega=_finite(rel.omega_total) if shown else None,
                alpha_flag=flag,
                icc1=result.icc1,
                icc2=result.icc2,
                icc2_low=result.icc2 is not None and result.icc2 < LOW_ICC2,
            )
        )
    return tuple(rows)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if np.isfinite(v) else None


# --------------------------------------------------------------------------- comments

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CASE = re.compile(
    r"\b(?:case|file|referral|docket|client|child)\s*(?:no\.?|number|nr\.?|id|#)?\s*[:#]?\s*"
    r"[A-Z0-9][A-Z0-9/-]*\d[A-Z0-9/-]*",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{5,}\d(?![\w])")
_LONG_ID = re.compile(r"\b(?=[A-Z0-9-]*\d{4})[A-Z0-9]+(?:-[A-Z0-9]+)+\b|\b\d{5,}\b", re.IGNORECASE)


def mask_identifiers(text: str) -> str:
    """Mask what looks like an email address, a phone number or a case number in a comment."""
    text = _EMAIL.sub("[email removed]", text)
    text = _CASE.sub("[case number removed]", text)
    text = _PHONE.sub(
        lambda m: "[phone removed]" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(),
        text,
    )
    return _LONG_ID.sub("[number removed]", text)


def _comments(
    session: Session, results: WaveResults, unit_id: int, language: str
) -> tuple[tuple[str, ...], str | None]:
    question = results.instrument.comment
    if question is None or results.responses(unit_id) < question.min_report_n:
        return (), None
    subtree = [u.id for u in results.units.values() if unit_id in _ancestors(results.units, u.id)]
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
    texts.sort()  # storage order first removed, then a random order
    secrets.SystemRandom().shuffle(texts)
    return tuple(texts), _text(question.text, language) if texts else None


# --------------------------------------------------------------------------- for the web


@dataclass(frozen=True)
class WaveReports:
    """One wave and the reports a user may download from it."""

    wave_id: int
    year: int
    jurisdiction_name: str
    status: str
    entries: tuple[ReportEntry, ...]
    message: str | None = None


def list_reports_for(session: Session, user: User) -> list[WaveReports]:
    """Waves of the user's jurisdiction with the units in the user's scope (national: none)."""
    scope = {u.id for u in access.units_in_scope(session, user)}
    if not scope or user.jurisdiction_id is None:
        return []
    waves = session.scalars(
        select(Wave).where(Wave.jurisdiction_id == user.jurisdiction_id).order_by(Wave.year.desc())
    ).all()
    out = []
    for wave in waves:
        name = wave.jurisdiction.name
        try:
            entries = tuple(e for e in list_reports(session, wave.id) if e.unit_id in scope)
        except NoResponses as error:
            out.append(WaveReports(wave.id, wave.year, name, str(wave.status), (), str(error)))
            continue
        out.append(WaveReports(wave.id, wave.year, name, str(wave.status), entries))
    return out


def download_report(
    session: Session,
    user: User,
    wave_id: int,
    unit_id: int,
    *,
    cache_dir: Path | None = None,
    page_size: PageSize = "A4",
    min_jurisdictions: int = 5,
) -> tuple[str, bytes]:
    """The PDF of one unit for a signed-in user: scope check, render (cached), audit, commit.

    Raises ``access.PermissionDenied`` (out of scope or unknown: both look the same),
    ``UnitSuppressed``, ``NoResponses`` or ``UnknownWave``.
    """
    wave = session.get(Wave, wave_id)
    unit = session.get(OrgUnit, unit_id)
    if wave is None or unit is None or unit.jurisdiction_id != wave.jurisdiction_id:
        raise access.PermissionDenied("no such report")
    access.require_unit(user, unit)
    ctx = build_context(
        session, wave_id, unit_id, page_size=page_size, min_jurisdictions=min_jurisdictions
    )
    if cache_dir is None:
        pdf = render_pdf(ctx)
    else:
        key = ReportCacheKey(wave_id, unit_id, _context_version(ctx), page_size=page_size)
        pdf = cached_pdf(cache_dir, key, lambda: render_pdf(ctx))
    audit.record(
        session,
        user,
        "report.download",
        f"wave {wave_id} / {unit.path or unit.name}",
        jurisdiction_id=wave.jurisdiction_id,
        wave_id=wave_id,
        unit_id=unit_id,
    )
    session.commit()
    return slugify_path(unit.path) + ".pdf", pdf


def _context_version(ctx: ReportContext) -> str:
    """Scoring version plus what changes with the data (responses, date, comments' order aside)."""
    digest = hashlib.sha256(
        repr((ctx.scoring_version, ctx.responses, ctx.invited, ctx.generated_on)).encode()
    )
    return digest.hexdigest()[:16]


def reports_to_build(
    session: Session, wave_id: int, *, unit_path: str | None = None
) -> list[ReportEntry]:
    """The shown units whose PDFs a build writes: all of the wave's, or only ``unit_path``.

    Raises ``UnknownUnit`` for an unknown path and ``UnitSuppressed`` when the asked-for unit is
    not shown (and ``NoResponses``/``UnknownWave`` from scoring the wave).
    """
    entries = list_reports(session, wave_id)
    if unit_path is not None:
        wanted = unit_path.strip()
        chosen = [e for e in entries if e.path == wanted]
        if not chosen:
            raise UnknownUnit(f"There is no unit {wanted!r} in this survey.")
        if not chosen[0].shown:
            entry = chosen[0]
            raise UnitSuppressed(
                entry.name, entry.included_in, wave_results(session, wave_id).min_n
            )
        entries = chosen
    return [e for e in entries if e.shown]


def render_unit_report(
    session: Session,
    wave_id: int,
    unit_id: int,
    *,
    page_size: PageSize = "A4",
    min_jurisdictions: int = 5,
) -> bytes:
    """One unit's PDF for a build (CLI or ZIP batch); raises ``ReportRenderError`` and friends.

    Ends the session's read transaction before rendering: a PDF takes seconds, and on SQLite an
    open transaction holds the write lock that survey submissions need. Call it with nothing
    pending in the session.
    """
    ctx = build_context(
        session, wave_id, unit_id, page_size=page_size, min_jurisdictions=min_jurisdictions
    )
    session.commit()
    return render_pdf(ctx)


def build_wave_reports(
    session: Session,
    wave_id: int,
    out_dir: Path,
    *,
    unit_path: str | None = None,
    page_size: PageSize = "A4",
    min_jurisdictions: int = 5,
) -> list[Path]:
    """Write one PDF per shown unit of a wave (or only ``unit_path``); return the files written.

    Runs as the operator of the machine (CLI), so no scope check; raises as
    :func:`reports_to_build` does.
    """
    entries = reports_to_build(session, wave_id, unit_path=unit_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in entries:
        pdf = render_unit_report(
            session,
            wave_id,
            entry.unit_id,
            page_size=page_size,
            min_jurisdictions=min_jurisdictions,
        )
        path = out_dir / entry.filename
        path.write_bytes(pdf)
        written.append(path)
    return written
