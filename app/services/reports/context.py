"""The plain report context of one unit: every number from the publication, wording as keys.

Nothing here is a sentence and nothing is decided here: notes and verdicts are the
publication's, passed on as wording keys that :mod:`app.reporting` turns into words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal

import numpy as np
from sqlalchemy.orm import Session

import scoring
import surveys
from app.i18n import lazy_message as _l
from app.models import Wave
from app.reporting import (
    Benchmark,
    HeatmapCell,
    HeatmapRow,
    ItemRow,
    PlanAction,
    PlanFocus,
    PlanRecap,
    PsychometricRow,
    ReportContext,
    ResponseRateRow,
    ScaleSummary,
    TrendCell,
)
from app.reporting.context import PageSize, ReliabilityStatus
from app.services import plans
from app.services.reports.comments import comments_for
from app.services.reports.errors import UnitSuppressed, UnknownUnit
from app.services.reports.publication import WaveResults, label_reason, wave_results
from app.services.reports.results import SCORING_VERSION, UnitNode, ancestors

#: rwg(j) below this: "the team sees this differently — discuss before acting".
LOW_AGREEMENT = 0.70
#: ICC(2) below this: differences between teams are not reliably detectable.
LOW_ICC2 = 0.60
_HIGHLIGHTS = 3
_STATUS: dict[str, ReliabilityStatus] = {
    "ok": "published",
    "unstable": "unstable",
    "insufficient": "not_shown",
}


def get_unit(results: WaveResults, unit_id: int) -> UnitNode:
    unit = results.units.get(unit_id)
    if unit is None:
        raise UnknownUnit(_l("There is no unit %(id)s in this survey.", id=unit_id))
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
    """Everything one unit's report shows, as plain data read from the wave's publication.

    ``min_jurisdictions`` may only withhold the national comparison further than the
    publication's own rule (at least 5 sharing jurisdictions). Raises ``UnknownWave``,
    ``UnknownUnit``, ``NoResponses`` or ``UnitSuppressed``.
    """
    results = wave_results(session, wave_id)
    unit = get_unit(results, unit_id)
    if not results.shown(unit_id):
        above = results.included_in(unit_id)
        raise UnitSuppressed(
            unit.name,
            None if above is None else above.name,
            results.min_n,
            results.hidden_reason(unit_id) or "too_few",
        )
    pub = results.publication
    published = pub.units[str(unit_id)]
    instrument = results.instrument
    is_team = results.is_leaf(unit_id)
    national_allowed = _national_allowed(pub, unit.kind, min_jurisdictions)
    scales = [
        _scale_summary(results, unit, scale, language, is_team, national_allowed)
        for scale in instrument.scales
    ]
    strengths, opportunities = _highlights(scales)

    children: list[HeatmapRow] = []
    rates: list[ResponseRateRow] = []
    if not is_team:
        for child_id in sorted(
            results.children.get(unit_id, ()), key=lambda c: results.units[c].name
        ):
            child = results.units[child_id]
            if results.shown(child_id):
                cells = tuple(
                    HeatmapCell(s.key, results.scale_pct(child_id, s.key))
                    for s in instrument.scales
                )
                children.append(HeatmapRow(child.name, cells=cells))
                rates.append(_rate_row(results, child))
            else:
                reason = results.hidden_reason(child_id) or "too_few"
                children.append(HeatmapRow(child.name, included_in=unit.name, reason=reason))
                rates.append(ResponseRateRow(child.name, included_in=unit.name, reason=reason))

    responses = published.responses.value or 0
    invited = published.invited.value or 0
    comments = comments_for(session, results, unit_id)
    question = instrument.comment
    parents = tuple(results.units[a].name for a in ancestors(results.units, unit_id)[1:])
    whole_wave = _is_whole_wave(results, unit_id)
    return ReportContext(
        kind="team" if is_team else "unit",
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
        previous_year=results.previous_year if any(s.trend is not None for s in scales) else None,
        # Row tallies are published for the whole wave only: per unit they could be
        # subtracted like any other count.
        excluded_straightlining=pub.tally.straightlining if whole_wave else 0,
        excluded_blank=pub.tally.blank if whole_wave else 0,
        excluded_comment_only=pub.tally.comment_only if whole_wave else 0,
        strengths=strengths,
        opportunities=opportunities,
        jurisdiction_benchmark_note=_group_note(scales, "jurisdiction"),
        national_benchmark_note=_group_note(scales, "national"),
        benchmark_min_jurisdictions=min_jurisdictions,
        national_jurisdictions=results.national_sources.jurisdictions,
        national_withdrawals=tuple(w.on for w in results.national_sources.withdrawals),
        children=tuple(children),
        response_rates=tuple(rates),
        psychometrics=() if is_team else _psychometrics(results, language),
        comments=comments,
        comment_question=_text(question.text, language) if question and comments else None,
        comment_min_n=pub.comment_min_n,
        scoring_version=SCORING_VERSION,
        previous_plan=_previous_plan(session, wave_id, unit.path, instrument, language),
    )


def _previous_plan(
    session: Session, wave_id: int, unit_path: str, instrument: surveys.Instrument, language: str
) -> PlanRecap | None:
    """Last year's plan of the unit with the same path, as plain data (scale titles translated).

    A plan holds no answers, only what the unit's leader recorded, so showing it next to this
    year's results exposes nobody; it is shown only in a report the publication allows.
    """
    wave = session.get(Wave, wave_id)
    view = None if wave is None else plans.previous_plan(session, wave, unit_path)
    if view is None:
        return None
    titles = {s.key: _text(s.title, language) for s in instrument.scales}
    return PlanRecap(
        year=view.year,
        focus_areas=tuple(
            PlanFocus(
                scale_key=f.scale_key,
                scale_title=titles.get(f.scale_key, f.scale_title),
                actions=tuple(
                    PlanAction(a.text, a.owner_role, a.target_date, a.status) for a in f.actions
                ),
            )
            for f in view.focus_areas
        ),
    )


def _is_whole_wave(results: WaveResults, unit_id: int) -> bool:
    """The unit is the only top-level node, so its figures are the whole wave's."""
    tops = [u for u in results.units.values() if u.parent_id is None]
    return len(tops) == 1 and tops[0].id == unit_id


def _national_allowed(pub: scoring.Publication, kind: str, min_jurisdictions: int) -> bool:
    """The configured minimum of jurisdictions, on top of the publication's own rule."""
    cells = [c for (k, _), c in pub.benchmarks_national.items() if k == kind and c.shown]
    return not cells or max(c.n_jurisdictions or 0 for c in cells) >= min_jurisdictions


def _text(text: Mapping[str, str], language: str) -> str:
    return text.get(language) or text.get("en") or next(iter(text.values()), "")


def _interval(iv: scoring.Interval | None) -> tuple[float, float] | None:
    return None if iv is None else (iv.low, iv.high)


def _oriented(percentile: float | None, higher_is_better: bool) -> float | None:
    """Ranks are of % positive; for a lower-is-better scale a low % is the better result."""
    if percentile is None:
        return None
    return percentile if higher_is_better else 100.0 - percentile


def _benchmark(cell: scoring.BenchmarkCell | None) -> Benchmark | None:
    if cell is None or not cell.shown:
        return None
    values = (cell.p10, cell.p25, cell.p50, cell.p75, cell.p90)
    if any(v is None for v in values) or not cell.n_units:
        return None
    p10, p25, p50, p75, p90 = (float(v) for v in values if v is not None)
    return Benchmark(p10, p25, p50, p75, p90, int(cell.n_units), int(cell.n_jurisdictions or 0))


def _reason_key(hidden: scoring.Hidden | None) -> str | None:
    return None if hidden is None else hidden.reason


def _scale_summary(
    results: WaveResults,
    unit: UnitNode,
    scale: surveys.Scale,
    language: str,
    is_team: bool,
    national_allowed: bool,
) -> ScaleSummary:
    pub = results.publication
    title = _text(scale.title, language)
    cell = pub.units[str(unit.id)].scales[scale.key]
    if not cell.shown or cell.pct_positive is None:
        return ScaleSummary(
            scale.key,
            title,
            scale.higher_is_better,
            cell.n or 0,
            None,
            None,
            None,
            hidden_reason=label_reason(cell.hidden),
        )
    overall = pub.overall.items
    items = []
    for item in scale.items:
        item_cell = pub.units[str(unit.id)].items[item.key]
        if not item_cell.shown or item_cell.pct_positive is None:
            continue
        whole = overall.get(item.key)
        items.append(
            ItemRow(
                key=item.key,
                scale_key=scale.key,
                text=_text(item.text, language),
                n=item_cell.n or 0,
                pct_negative=item_cell.pct_negative or 0.0,
                pct_neutral=item_cell.pct_neutral or 0.0,
                pct_positive=item_cell.pct_positive,
                reverse=item.reverse,
                jurisdiction_pct_positive=whole.pct_positive
                if whole is not None and whole.shown
                else None,
            )
        )
    change = cell.change
    trend = None
    if change.hidden is None and change.delta is not None and results.previous_year:
        trend = TrendCell(
            previous_year=results.previous_year,
            delta_points=change.delta,
            meaningful=change.verdict in ("up", "down"),
            interval=_interval(change.ci),
        )
    overview = pub.scales[scale.key]
    local = pub.benchmarks_jurisdiction.get((unit.kind, scale.key))
    national = pub.benchmarks_national.get((unit.kind, scale.key)) if national_allowed else None
    agreement = cell.agreement if is_team else None
    rank_n = cell.rank_national if national_allowed else None
    return ScaleSummary(
        key=scale.key,
        title=title,
        higher_is_better=scale.higher_is_better,
        n=cell.n or 0,
        pct_positive=cell.pct_positive,
        pct_neutral=cell.pct_neutral,
        pct_negative=cell.pct_negative,
        mean=cell.mean,
        ci=_interval(cell.mean_ci),
        trend=trend,
        trend_note=None if trend is not None else _reason_key(change.hidden),
        percentile_jurisdiction=_oriented(
            cell.rank_jurisdiction.percentile, scale.higher_is_better
        ),
        percentile_national=None
        if rank_n is None
        else _oriented(rank_n.percentile, scale.higher_is_better),
        rwg_j=None if agreement is None else agreement.rwg_star,
        low_agreement=agreement is not None and agreement.verdict == "differs",
        agreement_shown=agreement is not None and agreement.verdict is not None,
        items=tuple(items),
        jurisdiction_benchmark=_benchmark(local),
        national_benchmark=_benchmark(national),
        jurisdiction_benchmark_note=_reason_key(local.hidden) if local else "no_benchmark",
        national_benchmark_note=(
            _reason_key(national.hidden) if national else "benchmark_too_few_jurisdictions"
        ),
        pct_ci=_interval(cell.pct_ci),
        differences_unreliable=overview.icc2_low,
    )


def _group_note(
    scales: list[ScaleSummary], group: Literal["jurisdiction", "national"]
) -> str | None:
    """The group's note when no scale has its benchmark: the first scale's reason."""
    if group == "jurisdiction":
        if any(s.jurisdiction_benchmark for s in scales):
            return None
        return next(
            (s.jurisdiction_benchmark_note for s in scales if s.jurisdiction_benchmark_note), None
        )
    if any(s.national_benchmark for s in scales):
        return None
    return next((s.national_benchmark_note for s in scales if s.national_benchmark_note), None)


def _highlights(
    scales: list[ScaleSummary],
) -> tuple[tuple[ItemRow, ...], tuple[ItemRow, ...]]:
    """The unit's own best and weakest questions (a ranking within the unit, not between units)."""
    items = [item for s in scales for item in s.items]
    direction = {s.key: s.higher_is_better for s in scales}

    def goodness(item: ItemRow) -> float:
        return item.pct_positive if direction[item.scale_key] else 100.0 - item.pct_positive

    ranked = sorted(items, key=lambda i: (-goodness(i), i.key))
    strengths = tuple(ranked[:_HIGHLIGHTS])
    worst = sorted(items, key=lambda i: (goodness(i), i.key))
    return strengths, tuple(i for i in worst[:_HIGHLIGHTS] if i not in strengths)


def _rate_row(results: WaveResults, unit: UnitNode) -> ResponseRateRow:
    published = results.unit(unit.id)
    responses, invited = published.responses.value, published.invited.value
    rate = 100.0 * responses / invited if responses is not None and invited else None
    return ResponseRateRow(unit.name, responses, invited, rate)


def _psychometrics(results: WaveResults, language: str) -> tuple[PsychometricRow, ...]:
    scores = results.reliability()
    rows = []
    for scale in results.instrument.scales:
        rel = scores.scales[scale.key].reliability
        overview = results.publication.scales[scale.key]
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
                icc1=overview.icc1,
                icc2=overview.icc2,
                icc2_low=overview.icc2_low,
            )
        )
    return tuple(rows)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if np.isfinite(v) else None
