"""Rendering a :class:`ReportContext` to HTML and to a tagged PDF (Jinja → WeasyPrint).

WeasyPrint is imported on the first PDF, not with this module (see :mod:`app.reporting.pdf`).

Locked down: the only resources a report may load are the package's own assets, through
:class:`app.reporting.pdf.AssetFetcher`; any other URL (file://, http(s)://, data:) stops the
rendering.
Anything that goes wrong while rendering raises :class:`ReportRenderError`, so a batch job
can record the reason and go on with the next report.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from app import catalog
from app.reporting import charts, strings
from app.reporting import format as fmt
from app.reporting.context import ChangeVerdict, PageSize, ReportContext, ScaleSummary, TrendCell

if TYPE_CHECKING:  # WeasyPrint itself is imported on the first PDF (app.reporting.pdf)
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    from app.reporting.pdf import AssetFetcher

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
ASSETS_DIR = PACKAGE_DIR / "assets"
#: The URL scheme of the package's assets in templates: ``report-asset:report.css``.
ASSET_SCHEME = "report-asset:"
#: The font family every report is set in; anything else in the PDF is a font fallback.
FONT_FAMILIES = frozenset({"DejaVu Sans", "DejaVu Sans Condensed"})


class ReportRenderError(Exception):
    """A report could not be rendered; the message says why (template, asset or font)."""


class DisallowedURLError(ValueError):
    """A report tried to load something other than one of the package's assets."""


class _ErrorCollector(logging.Handler):
    """Collects WeasyPrint's error log lines (missing alt text or language, bad assets)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one rendering, then collect what it left.

    WeasyPrint allocates hundreds of thousands of objects per report, which set off about a
    hundred collections, some of them full ones over every object of the process (numpy,
    WeasyPrint, fonts...): about 12% of a team report's CPU time. One young-generation
    collection afterwards frees the report's reference cycles, so memory stays as before.
    Reference counting still frees everything else at once. If the collector is already
    paused (by the caller, or by a rendering in another thread), it is left as it is.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(1)


def asset_url(name: str) -> str:
    """The URL of one of the package's assets, for templates."""
    return f"{ASSET_SCHEME}{name}"


class ReportRenderer:
    """Templates + WeasyPrint settings; one per process is enough (it holds no report data)."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR, assets_dir: Path = ASSETS_DIR) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )
        # New-style gettext: ``_("Hello {name}")`` is not %-formatted by Jinja; each render
        # passes the report language's own callables (see :meth:`_html`).
        self.environment.newstyle_gettext = True  # type: ignore[attr-defined]
        self.environment.filters.update(
            pct=fmt.pct,
            delta=fmt.delta,
            score=fmt.score,
            interval=fmt.interval,
            pct_interval=fmt.pct_interval,
            delta_interval=fmt.delta_interval,
            coefficient=fmt.coefficient,
            p_value=fmt.p_value,
            percentile=fmt.percentile,
            count=fmt.count,
            long_date=fmt.long_date,
        )
        self.environment.globals.update(charts=charts, asset_url=asset_url, MISSING=fmt.MISSING)
        self.assets_dir = assets_dir
        # Made on the first PDF (which imports WeasyPrint) and reused: fonts and the stylesheet
        # are the same every time.
        self._font_config: FontConfiguration | None = None
        self._stylesheet: CSS | None = None
        self._page_sizes: dict[PageSize, CSS] = {}

    @property
    def _fonts(self) -> FontConfiguration:
        if self._font_config is None:
            from weasyprint.text.fonts import FontConfiguration

            self._font_config = FontConfiguration()
        return self._font_config

    def _stylesheets(self, fetcher: AssetFetcher, page_size: PageSize) -> list[CSS]:
        from weasyprint import CSS

        if self._stylesheet is None:
            self._stylesheet = CSS(
                url=asset_url("report.css"), url_fetcher=fetcher, font_config=self._fonts
            )
        if page_size not in self._page_sizes:
            self._page_sizes[page_size] = CSS(string=_page_size_css(page_size))
        return [self._stylesheet, self._page_sizes[page_size]]

    def render_html(self, ctx: ReportContext) -> str:
        """The report as a standalone HTML document (links the stylesheet; for previews)."""
        return self._html(ctx, link_stylesheet=True)

    def _html(self, ctx: ReportContext, *, link_stylesheet: bool) -> str:
        try:
            t = strings.strings_for(ctx.language)
        except KeyError:
            raise ReportRenderError(f"no report wording in language {ctx.language!r}") from None
        try:
            template = self.environment.get_template(f"{ctx.kind}.html")
            translations = catalog.load(ctx.language)
            with fmt.in_language(ctx.language):
                return template.render(
                    ctx=ctx,
                    t=t,
                    gettext=_formatting(translations.ugettext),
                    ngettext=_formatting_plural(translations.ungettext),
                    link_stylesheet=link_stylesheet,
                    page_size_css=_page_size_css(ctx.page_size),
                    **_helpers(ctx, t),
                )
        except jinja2.TemplateError as error:
            where = getattr(error, "filename", None) or getattr(error, "name", None) or "template"
            raise ReportRenderError(f"{where}: {error.message or error!r}") from error

    def _pdf_and_font_families(self, html: str, page_size: PageSize) -> tuple[bytes, set[str]]:
        from app.reporting.pdf import AssetFetcher, _ReportHTML

        fetcher = AssetFetcher(self.assets_dir)
        document = _ReportHTML(string=html, url_fetcher=fetcher).render(
            stylesheets=self._stylesheets(fetcher, page_size),
            font_config=self._fonts,
            pdf_variant="pdf/ua-1",
        )
        pdf = document.write_pdf(pdf_variant="pdf/ua-1")
        assert isinstance(pdf, bytes)
        return pdf, {font.family for font in document.fonts.values()}

    def render_pdf(self, ctx: ReportContext) -> bytes:
        """The report as a tagged PDF (PDF/UA-1) with language, title and author set."""
        from weasyprint.urls import FatalURLFetchingError

        html = self._html(ctx, link_stylesheet=False)
        collector = _ErrorCollector()
        logger = logging.getLogger("weasyprint")
        logger.addHandler(collector)
        try:
            with _cyclic_gc_paused():
                # The document is dropped inside: its cycles are freed by the collection.
                pdf, families = self._pdf_and_font_families(html, ctx.page_size)
        except FatalURLFetchingError as error:
            raise ReportRenderError(f"{error}: {error.__cause__}") from error
        except (OSError, ValueError) as error:
            raise ReportRenderError(f"WeasyPrint failed: {error}") from error
        finally:
            logger.removeHandler(collector)
        if collector.messages:
            raise ReportRenderError("; ".join(collector.messages))
        fallback = families - FONT_FAMILIES
        if fallback:
            raise ReportRenderError(
                f"font {sorted(FONT_FAMILIES)[0]!r} is not installed: text fell back to "
                f"{', '.join(sorted(fallback))} (install fonts-dejavu-core)"
            )
        return pdf


def _formatting(gettext: Callable[[str], str]) -> Callable[..., str]:
    """``_("Survey {year}", year=2026)`` in a report template: translate, then fill in."""

    def translated(message: str, **values: object) -> str:
        text = gettext(message)
        return text.format(**values) if values else text

    return translated


def _formatting_plural(ngettext: Callable[[str, str, int], str]) -> Callable[..., str]:
    def translated(singular: str, plural: str, n: int, **values: object) -> str:
        return ngettext(singular, plural, n).format(n=n, **values)

    return translated


def _page_size_css(page_size: PageSize) -> str:
    return f"@page {{ size: {'letter' if page_size == 'Letter' else 'A4'} portrait; }}"


def _helpers(ctx: ReportContext, t: strings.Strings) -> dict[str, Any]:
    """Functions templates call to pick wording and chart text; they only format."""

    def say(key: str, **values: object) -> str:
        text = t[key]
        if not isinstance(text, str):
            raise jinja2.TemplateRuntimeError(f"{key!r} is a list, not a sentence")
        return text.format(**values) if values else text

    def trend_verdict(trend: TrendCell, higher_is_better: bool) -> ChangeVerdict:
        """ "better" or "worse" for a clear change, else "no_clear_change" (the data decides)."""
        if not trend.meaningful:
            return "no_clear_change"
        return "better" if (trend.delta_points > 0) == higher_is_better else "worse"

    def scale_label(scale: ScaleSummary) -> str:
        """What the scale's headline counts: "% positive", or "% reporting <title>"."""
        return strings.positive_label(scale.title, scale.higher_is_better, ctx.language)

    def note(key: str) -> str:
        """A benchmark note from its wording key."""
        return say(
            "note_" + key,
            min_jurisdictions=ctx.benchmark_min_jurisdictions,
            unit_kind=ctx.unit_kind,
        )

    def heatmap_chart() -> Markup:
        """The children × scales heatmap; hidden children get why, where they count, no cells."""
        columns = [
            charts.HeatColumn(s.title, s.higher_is_better, ranked=not s.differences_unreliable)
            for s in ctx.scales
        ]
        rows = []
        for child in ctx.children:
            if child.included_in is not None:
                why = say(
                    "hidden_" + child.reason, parent=child.included_in, min_n=ctx.min_report_n
                )
                rows.append(charts.HeatRow(child.unit_name, note=why))
                continue
            values = {cell.scale_key: cell.pct_positive for cell in child.cells}
            row_values = tuple(values.get(s.key) for s in ctx.scales)
            rows.append(charts.HeatRow(child.unit_name, values=row_values))
        alt = say("chart_heatmap", count=len(ctx.children), scales=len(ctx.scales))
        return charts.heatmap(columns, rows, alt=alt, missing=fmt.MISSING)

    title = say("report_title_" + ctx.kind, unit=ctx.unit_name, year=ctx.wave_year)
    return {
        "say": say,
        "trend_verdict": trend_verdict,
        "scale_label": scale_label,
        "note": note,
        "heatmap_chart": heatmap_chart,
        "report_title": title,
    }


_default: ReportRenderer | None = None


def _renderer() -> ReportRenderer:
    global _default
    if _default is None:
        _default = ReportRenderer()
    return _default


def warm_up() -> None:
    """Make this process's renderer and parse its stylesheet now (for worker processes)."""
    from app.reporting.pdf import AssetFetcher

    renderer = _renderer()
    renderer._stylesheets(AssetFetcher(renderer.assets_dir), "A4")


def render_html(ctx: ReportContext) -> str:
    """The report as HTML, rendered with the package's templates."""
    return _renderer().render_html(ctx)


def render_pdf(ctx: ReportContext) -> bytes:
    """The report as PDF bytes; raises :class:`ReportRenderError` with the reason on failure."""
    return _renderer().render_pdf(ctx)
