"""Made-up but realistic report contexts, for tests, the benchmark and looking at the layout.

Numbers are invented with a seeded generator; scale and item wording comes from the default
instrument. Nothing here describes a real team.
"""

from __future__ import annotations

import random
from datetime import date

from app.reporting.context import (
    Benchmark,
    HeatmapCell,
    HeatmapRow,
    HiddenReason,
    ItemRow,
    PageSize,
    PsychometricRow,
    ReportContext,
    ResponseRateRow,
    ScaleSummary,
    TrendCell,
)
from surveys import load_default

WAVE_YEAR = 2026
MIN_REPORT_N = 5
NATIONAL_NOT_PUBLISHED = "benchmark_too_few_jurisdictions"
_TEAM_NAMES = (
    "Intake Team 3",
    "Family Preservation East",
    "Ongoing Services 2",
    "Adoption & Permanency",
    "After-Hours Response",
    "Kinship Support",
    "Investigations North",
    "Youth Transition Team",
)
_COMMENTS = (
    "More time to talk through hard cases together before the court deadline.",
    "A second worker for evening visits, every time it is asked for, not only when someone "
    "is free.",
    "Fix the lock on the back door of the office — it has been broken since spring.",
    "Less double entry of the same notes so we have time for the families.",
)


def _split(rng: random.Random, positive: float) -> tuple[float, float, float]:
    neutral = min(100.0 - positive, rng.uniform(6.0, 24.0))
    return 100.0 - positive - neutral, neutral, positive


def _benchmark(rng: random.Random, centre: float, teams: int, jurisdictions: int) -> Benchmark:
    spread = rng.uniform(9.0, 15.0)
    p50 = centre + rng.uniform(-3.0, 3.0)
    return Benchmark(
        p10=p50 - spread * 1.3,
        p25=p50 - spread * 0.6,
        p50=p50,
        p75=p50 + spread * 0.55,
        p90=min(99.0, p50 + spread * 1.1),
        n_teams=teams,
        n_jurisdictions=jurisdictions,
    )


def _scales(
    rng: random.Random, *, national_published: bool, n: int, suppress: frozenset[str] = frozenset()
) -> tuple[ScaleSummary, ...]:
    summaries = []
    for scale in load_default().scales:
        title = scale.title["en"]
        if scale.key in suppress:
            summaries.append(
                ScaleSummary(scale.key, title, scale.higher_is_better, 3, None, None, None)
            )
            continue
        base = rng.uniform(55.0, 85.0) if scale.higher_is_better else rng.uniform(25.0, 50.0)
        items = []
        for item in scale.items:
            negative, neutral, positive = _split(rng, min(97.0, max(8.0, base + rng.gauss(0, 9))))
            items.append(
                ItemRow(
                    key=item.key,
                    scale_key=scale.key,
                    text=item.text["en"],
                    n=n - rng.randint(0, 2),
                    pct_negative=negative,
                    pct_neutral=neutral,
                    pct_positive=positive,
                    reverse=item.reverse,
                    jurisdiction_pct_positive=base + rng.uniform(-8.0, 8.0),
                    national_pct_positive=base + rng.uniform(-8.0, 8.0)
                    if national_published
                    else None,
                )
            )
        count = len(items)
        pct_positive = sum(i.pct_positive for i in items) / count
        mean = 20.0 + 0.65 * pct_positive + rng.uniform(-3.0, 3.0)
        half_width = rng.uniform(3.5, 8.0)
        delta = rng.uniform(-9.0, 9.0)
        delta_half = rng.uniform(6.0, 14.0)
        meaningful = abs(delta) >= 5.0 and abs(delta) > delta_half
        rwg = rng.uniform(0.55, 0.95)
        summaries.append(
            ScaleSummary(
                key=scale.key,
                title=title,
                higher_is_better=scale.higher_is_better,
                n=n,
                pct_positive=pct_positive,
                pct_neutral=sum(i.pct_neutral for i in items) / count,
                pct_negative=sum(i.pct_negative for i in items) / count,
                mean=mean,
                ci=(mean - half_width, mean + half_width),
                trend=TrendCell(
                    previous_year=WAVE_YEAR - 1,
                    delta_points=delta,
                    meaningful=meaningful,
                    interval=(delta - delta_half, delta + delta_half),
                ),
                percentile_jurisdiction=rng.uniform(3.0, 97.0),
                percentile_national=rng.uniform(3.0, 97.0) if national_published else None,
                rwg_j=rwg,
                low_agreement=rwg < 0.70,
                items=tuple(items),
                jurisdiction_benchmark=_benchmark(rng, base, 142, 1),
                national_benchmark=_benchmark(rng, base, 2318, 14) if national_published else None,
                pct_ci=(
                    max(0.0, pct_positive - half_width * 2),
                    min(100.0, pct_positive + half_width),
                ),
            )
        )
    return tuple(summaries)


def _highlights(scales: tuple[ScaleSummary, ...]) -> tuple[tuple[ItemRow, ...], ...]:
    def goodness(item: ItemRow) -> float:
        scale = next(s for s in scales if s.key == item.scale_key)
        return item.pct_positive if scale.higher_is_better else 100.0 - item.pct_positive

    ranked = sorted((i for s in scales for i in s.items), key=goodness, reverse=True)
    return tuple(ranked[:3]), tuple(reversed(ranked[-3:]))


def sample_team_context(
    seed: int = 1, *, page_size: PageSize = "A4", national_published: bool = True
) -> ReportContext:
    """A team report context; ``seed`` varies names and numbers."""
    rng = random.Random(seed)
    invited = rng.randint(9, 24)
    responses = rng.randint(max(MIN_REPORT_N, invited // 2), invited)
    scales = _scales(rng, national_published=national_published, n=responses)
    strengths, opportunities = _highlights(scales)
    comments = _COMMENTS if responses >= 10 else ()
    return ReportContext(
        kind="team",
        unit_name=_TEAM_NAMES[seed % len(_TEAM_NAMES)],
        unit_kind="team",
        parent_path=("Northside Office", "Central Region", "Riverside County Children's Services"),
        jurisdiction_name="State of Riverside",
        wave_year=WAVE_YEAR,
        responses=responses,
        invited=invited,
        response_rate=100.0 * responses / invited,
        min_report_n=MIN_REPORT_N,
        generated_on=date(WAVE_YEAR, 5, 18),
        scales=scales,
        page_size=page_size,
        previous_year=WAVE_YEAR - 1,
        excluded_straightlining=rng.randint(0, 1),
        strengths=strengths,
        opportunities=opportunities,
        national_benchmark_note=None if national_published else NATIONAL_NOT_PUBLISHED,
        comments=comments,
        comment_question="If you could change one thing to make your work safer, what would it be?"
        if comments
        else None,
        scoring_version="sample",
    )


def sample_unit_context(
    seed: int = 2, *, page_size: PageSize = "A4", national_published: bool = True
) -> ReportContext:
    """An office report context with six teams, two of them too small to show."""
    rng = random.Random(seed)
    scales = _scales(rng, national_published=national_published, n=61)
    strengths, opportunities = _highlights(scales)
    office = "Northside Office"
    children: list[HeatmapRow] = []
    rates: list[ResponseRateRow] = []
    for name in _TEAM_NAMES[:6]:
        if name in ("Kinship Support", "After-Hours Response"):
            reason: HiddenReason = "too_few" if name == "Kinship Support" else "protects_smaller"
            children.append(HeatmapRow(name, included_in=office, reason=reason))
            rates.append(ResponseRateRow(name, included_in=office, reason=reason))
            continue
        cells = tuple(
            HeatmapCell(
                s.key,
                None
                if rng.random() < 0.04
                else min(98.0, max(5.0, (s.pct_positive or 50.0) + rng.gauss(0, 10))),
            )
            for s in scales
        )
        children.append(HeatmapRow(name, cells=cells))
        invited = rng.randint(10, 22)
        responses = rng.randint(invited // 2, invited)
        rates.append(ResponseRateRow(name, responses, invited, 100.0 * responses / invited))
    psychometrics = []
    for s in scales:
        n_complete = rng.choice((1840, 1722, 1795, 86))
        alpha = rng.uniform(0.58, 0.91)
        icc2 = rng.uniform(0.45, 0.85)
        psychometrics.append(
            PsychometricRow(
                scale_key=s.key,
                title=s.title,
                n_complete=n_complete,
                status="published" if n_complete >= 100 else "unstable",
                alpha=alpha,
                omega=min(0.95, alpha + rng.uniform(0.0, 0.04)),
                alpha_flag="red" if alpha < 0.60 else "amber" if alpha < 0.70 else None,
                icc1=rng.uniform(0.02, 0.15),
                icc2=icc2,
                icc2_low=icc2 < 0.60,
            )
        )
    return ReportContext(
        kind="unit",
        unit_name=office,
        unit_kind="office",
        parent_path=("Central Region", "Riverside County Children's Services"),
        jurisdiction_name="State of Riverside",
        wave_year=WAVE_YEAR,
        responses=61,
        invited=88,
        response_rate=100.0 * 61 / 88,
        min_report_n=MIN_REPORT_N,
        generated_on=date(WAVE_YEAR, 5, 18),
        scales=scales,
        page_size=page_size,
        previous_year=WAVE_YEAR - 1,
        strengths=strengths,
        opportunities=opportunities,
        national_benchmark_note=None if national_published else NATIONAL_NOT_PUBLISHED,
        children=tuple(children),
        response_rates=tuple(rates),
        psychometrics=tuple(psychometrics),
        scoring_version="sample",
    )
