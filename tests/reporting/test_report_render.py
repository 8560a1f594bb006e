"""Rendering rules: accessible charts, a locked-down fetcher, clear errors, the cache."""

from __future__ import annotations

import gc
import logging
import re
from dataclasses import replace
from pathlib import Path

import pytest

from app.reporting import ReportRenderError, charts, render_html
from app.reporting.cache import ReportCacheKey, cached_pdf, fingerprint
from app.reporting.context import PageSize
from app.reporting.pdf import AssetFetcher, _report_ua_stylesheet, _ReportHTML
from app.reporting.render import (
    ASSETS_DIR,
    DisallowedURLError,
    ReportRenderer,
    render_pdf,
)
from app.reporting.sample import sample_team_context, sample_unit_context

SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)


@pytest.mark.parametrize("make", [sample_team_context, sample_unit_context])
def test_every_chart_has_a_title_role_and_text_alternative(make: object) -> None:
    assert callable(make)
    html = render_html(make())
    svgs = SVG.findall(html)
    assert len(svgs) >= 10
    for svg in svgs:
        opening = svg[: svg.index(">")]
        assert 'role="img"' in opening
        label = re.search(r'aria-label="([^"]+)"', opening)
        title = re.search(r"<title>([^<]+)</title>", svg)
        assert label and title and title.group(1).strip()
        assert title.group(1) == label.group(1)


def test_chart_text_is_escaped() -> None:
    svg = charts.distribution_bar(10, 20, 70, higher_is_better=True, alt='<b>"x" & y</b>')
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg


def test_exhaustion_bar_draws_agreeing_in_the_weak_colour() -> None:
    good = charts.distribution_bar(10, 20, 70, higher_is_better=True, alt="a")
    bad = charts.distribution_bar(10, 20, 70, higher_is_better=False, alt="a")
    assert re.findall(r'fill="(#\w+)"', good)[-1] == charts.GOOD
    assert re.findall(r'fill="(#\w+)"', bad)[-1] == charts.WEAK


def test_heatmap_colours_a_low_exhaustion_value_as_good() -> None:
    assert charts.heat_colour(15.0, higher_is_better=False) == charts.HEAT_COLOURS[-1]
    assert charts.heat_colour(15.0, higher_is_better=True) == charts.HEAT_COLOURS[0]


def test_falling_exhaustion_shows_as_an_improvement() -> None:
    ctx = sample_team_context(1)
    scales = []
    for s in ctx.scales:
        if s.key in ("emotional_exhaustion", "psychological_safety"):
            assert s.trend is not None
            s = replace(s, trend=replace(s.trend, delta_points=-7.0, meaningful=True))
        scales.append(s)
    html = render_html(replace(ctx, scales=tuple(scales)))
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r"<th scope=\"row\" class=\"c-scale\">([^<]+).*?</tr>", html, re.S)
    }
    exhaustion = next(r for t, r in rows.items() if t.startswith("Emotional Exhaustion"))
    safety = next(r for t, r in rows.items() if t.startswith("Psychological Safety"))
    assert 'class="trend better meaningful"' in exhaustion and "▲" in exhaustion
    assert 'class="trend worse meaningful"' in safety and "▼" in safety


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.org/report.css",
        "https://example.org/font.woff2",
        "data:text/css,body{}",
        "report-asset:../render.py",
        "report-asset:/etc/passwd",
        "report-asset:missing.css",
    ],
)
def test_fetcher_refuses_everything_but_own_assets(url: str) -> None:
    with pytest.raises(DisallowedURLError):
        AssetFetcher().fetch(url)


def test_fetcher_serves_the_stylesheet() -> None:
    response = AssetFetcher().fetch("report-asset:report.css")
    assert response.read() == (ASSETS_DIR / "report.css").read_bytes()
    assert response.content_type == "text/css"


def _renderer_with(tmp_path: Path, template: str) -> ReportRenderer:
    (tmp_path / "team.html").write_text(template)
    return ReportRenderer(templates_dir=tmp_path)


@pytest.mark.parametrize(
    "reference",
    [
        '<link rel="stylesheet" href="file:///etc/hostname">',
        '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
        '<img src="file:///usr/share/pixmaps/debian-logo.png" alt="logo">',
    ],
)
def test_rendering_stops_when_a_template_loads_something_else(
    tmp_path: Path, reference: str
) -> None:
    renderer = _renderer_with(
        tmp_path, f'<html lang="en"><head><title>x</title>{reference}</head><body>x</body></html>'
    )
    with pytest.raises(ReportRenderError, match="Error fetching"):
        renderer.render_pdf(sample_team_context())


@pytest.mark.parametrize(
    "template", ["{% if %}", "{{ ctx.no_such_field }}", "{% include 'missing.html' %}"]
)
def test_template_errors_raise_report_render_error(tmp_path: Path, template: str) -> None:
    renderer = _renderer_with(tmp_path, template)
    with pytest.raises(ReportRenderError):
        renderer.render_pdf(sample_team_context())


def test_weasyprint_errors_raise_report_render_error(tmp_path: Path) -> None:
    # No lang attribute: WeasyPrint logs an error for a PDF/UA document; we refuse it.
    renderer = _renderer_with(tmp_path, "<html><head><title>x</title></head><body>x</body></html>")
    with pytest.raises(ReportRenderError, match="lang"):
        renderer.render_pdf(sample_team_context())


def test_unknown_language_raises_report_render_error() -> None:
    with pytest.raises(ReportRenderError, match="language"):
        render_html(replace(sample_team_context(), language="xx"))


def test_sample_reports_render_without_weasyprint_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        render_pdf(sample_unit_context(5))
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []


def test_cache_renders_once_per_key(tmp_path: Path) -> None:
    calls: list[int] = []

    def render() -> bytes:
        calls.append(1)
        return b"%PDF-1.7 one"

    key = ReportCacheKey(wave=7, unit="team/3", scoring_version="1.0")
    assert cached_pdf(tmp_path, key, render) == b"%PDF-1.7 one"
    assert cached_pdf(tmp_path, key, render) == b"%PDF-1.7 one"
    assert len(calls) == 1
    assert [p.name for p in tmp_path.iterdir()] == [key.filename()]
    cached_pdf(tmp_path, replace(key, template_version="other"), render)
    cached_pdf(tmp_path, replace(key, scoring_version="1.1"), render)
    cached_pdf(tmp_path, replace(key, page_size="Letter"), render)
    assert len(calls) == 4


def test_cache_keeps_distinct_units_apart_after_cleaning_names() -> None:
    a = ReportCacheKey(wave=1, unit="team/3", scoring_version="1")
    b = ReportCacheKey(wave=1, unit="team_3", scoring_version="1")
    assert a.filename() != b.filename()
    assert "/" not in a.filename()


def test_template_fingerprint_changes_with_any_file(tmp_path: Path) -> None:
    one, two = tmp_path / "a.html", tmp_path / "b.css"
    one.write_text("<p>x</p>")
    two.write_text("p {}")
    before = fingerprint([one, two])
    assert fingerprint([two, one]) == before
    two.write_text("p { color: red }")
    assert fingerprint([one, two]) != before


def test_text_in_another_font_than_dejavu_sans_raises(tmp_path: Path) -> None:
    # What a machine without DejaVu Sans produces: fontconfig silently substitutes a face.
    renderer = _renderer_with(
        tmp_path,
        '<html lang="en"><head><title>x</title></head><body style="font-family: serif">x</body>'
        "</html>",
    )
    with pytest.raises(ReportRenderError, match="fell back"):
        renderer.render_pdf(sample_team_context())


def test_comments_are_printed_only_when_the_context_carries_them() -> None:
    ctx = replace(sample_team_context(1), comments=(), comment_question=None)
    assert "In their own words" not in render_html(ctx)
    with_comments = replace(ctx, comments=("More backup on <night> visits & weekends.",))
    html = render_html(with_comments)
    assert "In their own words" in html
    assert "More backup on &lt;night&gt; visits &amp; weekends." in html


def test_reports_use_the_trimmed_user_agent_stylesheet() -> None:
    # The stock sheet's universal ::footnote-*/::note-* rules cost ~15% of a report's CPU
    # time; if a WeasyPrint upgrade changes the sheet so the trimming no longer applies,
    # rendering silently falls back to the stock sheet: this test says so instead.
    assert _report_ua_stylesheet() is not None
    ReportRenderer()
    assert _ReportHTML.ua_stylesheet is not None
    assert _ReportHTML(string="<p>x</p>")._ua_stylesheets() == [_ReportHTML.ua_stylesheet]


def test_rendering_pauses_the_garbage_collector_only_while_it_runs(tmp_path: Path) -> None:
    seen: list[bool] = []

    class Spy(ReportRenderer):
        def _pdf_and_font_families(self, html: str, page_size: PageSize) -> tuple[bytes, set[str]]:
            seen.append(gc.isenabled())
            return super()._pdf_and_font_families(html, page_size)

    assert gc.isenabled()
    Spy().render_pdf(sample_team_context())
    assert seen == [False] and gc.isenabled()
    failing = Spy(templates_dir=tmp_path)
    (tmp_path / "team.html").write_text("<html><head><title>x</title></head><body>x</body></html>")
    with pytest.raises(ReportRenderError):
        failing.render_pdf(sample_team_context())
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        Spy().render_pdf(sample_team_context())
        assert not gc.isenabled()  # a caller's own pause is left alone
    finally:
        gc.enable()
