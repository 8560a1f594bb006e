"""Plain data a report is rendered from: frozen dataclasses of numbers and strings.

Everything here is decided before rendering, by the data layer (database + ``scoring``):
suppression, flags (a change counts as meaningful, low agreement, unreliable ICC(2)),
strengths and opportunities, which comments appear. The rendering layer only formats.

Conventions:

* every percentage, percentile and response rate is on a 0–100 scale and arrives unrounded;
* ``None`` means "not shown" (suppressed, not computed, or not published);
* text fields that come from data (unit names, scale titles, item wording, comments) are
  already in the report's language; everything the project itself says (notes, reasons,
  verdicts) arrives as a wording key that :mod:`app.reporting.strings` turns into words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

ReportKind = Literal["team", "unit"]
PageSize = Literal["A4", "Letter"]
ReliabilityStatus = Literal["published", "unstable", "not_shown"]
AlphaFlag = Literal["red", "amber"]
#: Why a unit shows no numbers: its group is too small, or it protects a smaller group.
HiddenReason = Literal["too_few", "protects_smaller"]
#: What a change from last year is called: only a clear change has a direction.
ChangeVerdict = Literal["better", "worse", "no_clear_change"]


@dataclass(frozen=True)
class ItemRow:
    """One item for one unit: the negative / neutral / positive split of its answers.

    ``pct_*`` are shares of non-missing answers after reversing (so for a ``reverse`` item,
    disagreeing counts as positive). ``jurisdiction_pct_positive`` and
    ``national_pct_positive`` are the comparison groups' % positive on the same item.
    """

    key: str
    scale_key: str
    text: str
    n: int
    pct_negative: float
    pct_neutral: float
    pct_positive: float
    reverse: bool = False
    jurisdiction_pct_positive: float | None = None
    national_pct_positive: float | None = None


@dataclass(frozen=True)
class TrendCell:
    """Change from the previous wave on one scale.

    ``delta_points`` is this year's % positive minus last year's, in percentage points, with
    its 95% interval ``interval`` (``None``: none could be computed). ``meaningful`` is the
    data layer's verdict that this is a clear change (interval excludes 0 after the Holm
    adjustment across the report's scales, and |Δ| ≥ 5 points); otherwise the report says
    "no clear change" and prints the difference with its interval.
    """

    previous_year: int
    delta_points: float
    meaningful: bool
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class Benchmark:
    """Spread of teams' scale % positive in a comparison group, every team weighted equally."""

    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    n_teams: int
    n_jurisdictions: int


@dataclass(frozen=True)
class ScaleSummary:
    """One scale for the report's unit.

    ``higher_is_better`` drives colours, arrows and wording (the renderer names what the
    headline counts: "% positive", or for a scale where agreeing is bad "% reporting
    exhaustion"). The ``pct_*`` values are the average of the percentages of the scale's items
    that are shown for this unit (the "average across items" convention), ``pct_ci`` the 95%
    interval of the headline. ``mean`` is the mean 0–100 respondent score with its 95% interval
    ``ci``. ``differences_unreliable`` is set where ICC(2) < .60: units cannot be told apart
    reliably on this scale, so the report does not rank them. Percentiles are the share of
    units in the comparison group this unit does better than, already turned around by the
    data layer for lower-is-better scales (so a higher percentile always means a better
    result). All statistics are ``None`` when the scale is suppressed for this unit
    (``hidden_reason`` says why). ``trend_note`` and ``*_benchmark_note`` are the wording keys
    of why a change or benchmark is absent.
    """

    key: str
    title: str
    higher_is_better: bool
    n: int
    pct_positive: float | None
    pct_neutral: float | None
    pct_negative: float | None
    mean: float | None = None
    ci: tuple[float, float] | None = None
    trend: TrendCell | None = None
    percentile_jurisdiction: float | None = None
    percentile_national: float | None = None
    rwg_j: float | None = None
    low_agreement: bool = False
    items: tuple[ItemRow, ...] = ()
    jurisdiction_benchmark: Benchmark | None = None
    national_benchmark: Benchmark | None = None
    pct_ci: tuple[float, float] | None = None
    differences_unreliable: bool = False
    agreement_shown: bool = True
    hidden_reason: HiddenReason | None = None
    trend_note: str | None = None
    jurisdiction_benchmark_note: str | None = None
    national_benchmark_note: str | None = None

    @property
    def suppressed(self) -> bool:
        return self.pct_positive is None


@dataclass(frozen=True)
class HeatmapCell:
    """One child unit on one scale; ``pct_positive`` is ``None`` when that cell is not shown."""

    scale_key: str
    pct_positive: float | None


@dataclass(frozen=True)
class HeatmapRow:
    """One child unit of the report's unit.

    A suppressed child has ``included_in`` set to the name of the unit its answers count
    towards, ``reason`` why it is hidden, and no cells: the report prints why and no numbers.
    """

    unit_name: str
    cells: tuple[HeatmapCell, ...] = ()
    included_in: str | None = None
    reason: HiddenReason = "too_few"

    @property
    def suppressed(self) -> bool:
        return self.included_in is not None


@dataclass(frozen=True)
class ResponseRateRow:
    """Response rate of one child unit; a suppressed child has ``included_in`` and no numbers."""

    unit_name: str
    responses: int | None = None
    invited: int | None = None
    response_rate: float | None = None
    included_in: str | None = None
    reason: HiddenReason = "too_few"

    @property
    def suppressed(self) -> bool:
        return self.included_in is not None


@dataclass(frozen=True)
class PsychometricRow:
    """Reliability and between-team differences of one scale in the jurisdiction.

    ``status``: "published" (≥ 100 complete cases), "unstable" (30–99), "not_shown" (< 30,
    alpha and omega ``None``). ``alpha_flag``: "red" (α < .60) or "amber" (.60–.69).
    ``icc2_low`` is set when ICC(2) is too low for differences between teams to be detected.
    """

    scale_key: str
    title: str
    n_complete: int
    status: ReliabilityStatus
    alpha: float | None = None
    omega: float | None = None
    alpha_flag: AlphaFlag | None = None
    icc1: float | None = None
    icc2: float | None = None
    icc2_low: bool = False


@dataclass(frozen=True)
class PlanAction:
    """One action of last year's plan: what, which role owns it, by when, how far it is.

    ``status`` is a wording key (``planned``, ``under_way``, ``done``, ``dropped``); the owner
    is a role, never a person's name (the plan form refuses e-mail addresses).
    """

    text: str
    owner_role: str
    target_date: date | None
    status: str


@dataclass(frozen=True)
class PlanFocus:
    """One focus area (a scale) of last year's plan, with its title in the report's language."""

    scale_key: str
    scale_title: str
    actions: tuple[PlanAction, ...] = ()


@dataclass(frozen=True)
class PlanRecap:
    """The unit's action plan after the previous wave, shown beside this year's change."""

    year: int
    focus_areas: tuple[PlanFocus, ...]

    @property
    def actions_total(self) -> int:
        return sum(len(f.actions) for f in self.focus_areas)

    @property
    def actions_done(self) -> int:
        return sum(a.status == "done" for f in self.focus_areas for a in f.actions)


@dataclass(frozen=True)
class ReportContext:
    """Everything one team or unit report shows.

    ``kind`` "team" renders the team report; "unit" (office, region, agency) adds the
    heatmap of ``children``, their response rates and the jurisdiction's psychometrics.
    ``parent_path`` lists the units above, nearest first. ``strengths`` and
    ``opportunities`` are already chosen and ordered (for lower-is-better scales the data
    layer has treated a low % as the strength). ``comments`` are already masked, in
    alphabetical order, and present only where the publication allows the list.
    ``*_benchmark_note`` is the wording key of why a comparison group's benchmarks are absent
    (e.g. ``benchmark_too_few_jurisdictions`` with ``benchmark_min_jurisdictions``); when set,
    that group's numbers are ``None`` throughout. ``previous_plan`` is the unit's action plan
    after last year's wave (``None``: none was recorded), printed beside the change.
    """

    kind: ReportKind
    unit_name: str
    unit_kind: str
    parent_path: tuple[str, ...]
    jurisdiction_name: str
    wave_year: int
    responses: int
    invited: int
    response_rate: float
    min_report_n: int
    generated_on: date
    scales: tuple[ScaleSummary, ...]
    language: str = "en"
    page_size: PageSize = "A4"
    previous_year: int | None = None
    excluded_straightlining: int = 0
    excluded_blank: int = 0
    excluded_comment_only: int = 0
    strengths: tuple[ItemRow, ...] = ()
    opportunities: tuple[ItemRow, ...] = ()
    jurisdiction_benchmark_note: str | None = None
    national_benchmark_note: str | None = None
    benchmark_min_jurisdictions: int = 5
    #: Other jurisdictions whose contributions the national comparison was built from, and
    #: the days on which any that had contributed withdrew (no names: see
    #: app.services.benchmarks).
    national_jurisdictions: int = 0
    national_withdrawals: tuple[date, ...] = ()
    children: tuple[HeatmapRow, ...] = ()
    response_rates: tuple[ResponseRateRow, ...] = ()
    psychometrics: tuple[PsychometricRow, ...] = ()
    comments: tuple[str, ...] = ()
    comment_question: str | None = None
    comment_min_n: int | None = None
    scoring_version: str = ""
    author: str = field(default="")
    previous_plan: PlanRecap | None = None

    def scale(self, key: str) -> ScaleSummary:
        """The summary of scale ``key`` (KeyError if the report has none)."""
        for summary in self.scales:
            if summary.key == key:
                return summary
        raise KeyError(key)
