"""The national psychometric report: its plain-data context, HTML and PDF (no Flask, no session).

:mod:`app.services.national_report` builds a :class:`NationalReport` from contributions only;
this module lays it out with ``templates/national.html`` (the whole document, for WeasyPrint)
and ``templates/national_body.html`` (the part the signed-in page shows inside its layout).
Words are gettext strings, translated from the app's catalog when it has the language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path

import jinja2
from babel.support import NullTranslations, Translations

from app.reporting import format as fmt
from app.reporting.render import (
    ASSETS_DIR,
    TEMPLATES_DIR,
    ReportRenderError,
    asset_url,
)

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"


@dataclass(frozen=True)
class Participant:
    """A jurisdiction in the report's year: its level and (with its consent) response rate."""

    name: str
    level: str
    invited: int | None
    responses: int | None
    rate: float | None
    included: bool
    #: Why it is not in the statistics ("" when it is).
    note: str = ""


@dataclass(frozen=True)
class Withdrawn:
    name: str
    year: int
    withdrawn_at: datetime


@dataclass(frozen=True)
class ItemTotal:
    item: str
    text: str
    r_drop: float
    alpha_if_deleted: float | None
    low: bool


@dataclass(frozen=True)
class ScaleReliability:
    """One scale in one group (the nation or a jurisdiction)."""

    group: str
    scale: str
    status: str  # "ok", "unstable" (30–99 complete cases), "insufficient" (< 30: nothing shown)
    n: int
    alpha: float | None
    alpha_ci: tuple[float, float] | None
    omega: float | None
    items: tuple[ItemTotal, ...]
    #: "red" (alpha < .60), "amber" (.60–.69) or "".
    flag: str


@dataclass(frozen=True)
class IccRow:
    group: str
    scale: str
    units: int
    n: int
    icc1: float | None
    icc2: float | None
    #: ICC(2) < .60: differences between teams are not reliably detectable.
    unreliable: bool


@dataclass(frozen=True)
class FitRow:
    group: str
    n: int
    chi2: float | None
    df: int
    pvalue: float | None
    cfi: float | None
    tli: float | None
    rmsea: float | None
    rmsea_ci: tuple[float, float] | None
    srmr: float | None
    #: "good", "acceptable", "poor" or "failed" (did not converge).
    verdict: str


@dataclass(frozen=True)
class Step:
    step: str  # configural, metric, scalar
    fit: FitRow
    delta_cfi: float | None
    holds: bool | None


@dataclass(frozen=True)
class ScaleInvarianceRow:
    scale: str
    cfi: tuple[float | None, float | None, float | None]
    broken: str | None
    items: tuple[str, ...]


@dataclass(frozen=True)
class Invariance:
    """Invariance across ``across`` ("jurisdictions" or "languages")."""

    across: str
    groups: tuple[str, ...]
    steps: tuple[Step, ...]
    #: The highest step that holds ("configural", "metric", "scalar") or None.
    reached: str | None
    scales: tuple[ScaleInvarianceRow, ...]
    #: Why it is not reported (then everything else is empty).
    unavailable: str = ""


@dataclass(frozen=True)
class LoadingRow:
    item: str
    scale: str
    loadings: tuple[float, ...]
    main: int  # index of the largest absolute loading


@dataclass(frozen=True)
class EfaSummary:
    n: int
    kmo: float | None
    kmo_words: (
        str  # "marvellous", "meritorious", "middling", "mediocre", "miserable", "unacceptable"
    )
    bartlett_chi2: float | None
    bartlett_df: int
    bartlett_p: float | None
    eigenvalues: tuple[tuple[float, float], ...]  # (observed, random 95th percentile)
    n_factors: int
    n_scales: int
    rotation: str
    loadings: tuple[LoadingRow, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class NationalReport:
    """Everything the national psychometric report shows; numbers unrounded."""

    scope: str  # "nation" or "jurisdiction"
    title: str
    year: int
    language: str
    instrument: str
    built_at: datetime
    min_report_n: int
    participants: tuple[Participant, ...]
    withdrawn: tuple[Withdrawn, ...]
    reliability: tuple[ScaleReliability, ...] = ()
    icc: tuple[IccRow, ...] = ()
    efa: EfaSummary | None = None
    efa_unavailable: str = ""
    cfa: tuple[FitRow, ...] = ()
    invariance: tuple[Invariance, ...] = ()
    #: Sentences about languages (a group below the threshold is named, not reported).
    language_notes: tuple[str, ...] = ()
    #: Set when there is nothing to report yet (then the sections are empty).
    empty_reason: str = ""
    scales_weak: tuple[str, ...] = field(default=())
    items_low: tuple[str, ...] = field(default=())
    icc_unreliable: tuple[str, ...] = field(default=())

    @property
    def respondents(self) -> int:
        return sum(p.responses or 0 for p in self.participants if p.included)


@lru_cache(maxsize=4)
def _translations(language: str) -> NullTranslations:
    found = Translations.load(str(TRANSLATIONS_DIR), [language], domain="messages")
    return found


def _environment(language: str) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        _translations(language), newstyle=True
    )
    environment.filters.update(
        coefficient=fmt.coefficient,
        count=fmt.count,
        p_value=fmt.p_value,
        pct=fmt.pct,
        fit=_fit_number,
        ci=partial(_coefficient_interval, language=language),
    )
    environment.globals.update(asset_url=asset_url, MISSING=fmt.MISSING)
    return environment


def _fit_number(value: float | None, places: int = 3) -> str:
    """χ², RMSEA, SRMR and CFI to a fixed number of places (missing: the dash)."""
    if value is None:
        return fmt.MISSING
    return f"{value:,.{places}f}"


def _coefficient_interval(bounds: tuple[float, float] | None, *, language: str) -> str:
    """A confidence interval of a coefficient: (.80, .85) → ".80 to .85", in ``language``."""
    if bounds is None:
        return fmt.MISSING
    # The msgid is marked in app.reporting.format, where the leaders' reports use it too.
    words = _translations(language).gettext("{low} to {high}")
    return words.format(low=fmt.coefficient(bounds[0]), high=fmt.coefficient(bounds[1]))


def render_body(report: NationalReport) -> str:
    """The report's content as an HTML fragment (for the signed-in page)."""
    try:
        template = _environment(report.language).get_template("national_body.html")
        return template.render(report=report, standalone=False)
    except jinja2.TemplateError as error:
        raise ReportRenderError(f"national_body.html: {error}") from error


def render_html(report: NationalReport) -> str:
    """The report as a whole HTML document, as the PDF is made from."""
    try:
        template = _environment(report.language).get_template("national.html")
        return template.render(report=report, standalone=True)
    except jinja2.TemplateError as error:
        raise ReportRenderError(f"national.html: {error}") from error


def render_pdf(report: NationalReport) -> bytes:
    """The report as a tagged PDF (PDF/UA-1) with the package's stylesheet and fonts."""
    from weasyprint import CSS, HTML  # on the first PDF, not at the app's start

    from app.reporting.pdf import AssetFetcher

    fetcher = AssetFetcher(ASSETS_DIR)
    try:
        document = HTML(string=render_html(report), url_fetcher=fetcher).render(
            stylesheets=[
                CSS(url=asset_url("report.css"), url_fetcher=fetcher),
                CSS(string="@page { size: A4 portrait; }"),
            ],
            pdf_variant="pdf/ua-1",
        )
        pdf = document.write_pdf(pdf_variant="pdf/ua-1")
    except (OSError, ValueError) as error:
        raise ReportRenderError(f"WeasyPrint failed: {error}") from error
    assert isinstance(pdf, bytes)
    return pdf
