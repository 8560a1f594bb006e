"""The PDF shows exactly the formatted numbers of its context, and is a tagged PDF/UA file."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pypdf.generic import BooleanObject, DictionaryObject

from app.reporting import format as fmt
from app.reporting.strings import positive_label, strings_for

from .conftest import RenderedReport, squash


def _in_order(haystack: str, needles: list[str]) -> None:
    """Every needle occurs in ``haystack``, each after the previous one."""
    position = 0
    for needle in needles:
        found = haystack.find(squash(needle), position)
        assert found >= 0, f"{needle!r} not found after position {position} in {haystack!r}"
        position = found + len(squash(needle))


def _rows(section: str, report: RenderedReport) -> dict[str, str]:
    """``section`` (squashed) cut into one piece per scale, from each title to the next."""
    starts = [section.index(squash(s.title)) for s in report.ctx.scales]
    ends = [*starts[1:], len(section)]
    return {s.key: section[a:b] for s, a, b in zip(report.ctx.scales, starts, ends, strict=True)}


def _summary_rows(report: RenderedReport) -> dict[str, str]:
    """The summary table's text, one piece per scale row."""
    page = squash(report.pages[1])
    return _rows(page[: page.index(squash("Benchmarks"))], report)


def test_summary_row_of_each_scale_shows_its_numbers_as_formatted(
    team_report: RenderedReport,
) -> None:
    rows = _summary_rows(team_report)
    for s in team_report.ctx.scales:
        assert s.trend is not None and s.ci is not None and s.trend.interval is not None
        change = (
            [fmt.delta(s.trend.delta_points), "clear"]
            if s.trend.meaningful
            else ["no clear change", fmt.delta(s.trend.delta_points)]
        )
        _in_order(
            rows[s.key],
            [
                s.title,
                positive_label(s.title, s.higher_is_better),
                fmt.pct(s.pct_positive),
                fmt.pct_interval(s.pct_ci),
                f"{fmt.pct(s.pct_negative)} · {fmt.pct(s.pct_neutral)} · {fmt.pct(s.pct_positive)}",
                fmt.score(s.mean),
                fmt.interval(s.ci),
                *change,
                fmt.delta_interval(s.trend.interval),
                fmt.percentile(s.percentile_jurisdiction),
                fmt.percentile(s.percentile_national),
            ],
        )


def test_summary_never_says_a_test_agrees_and_calls_small_changes_no_clear_change(
    team_report: RenderedReport,
) -> None:
    rows = _summary_rows(team_report)
    text = squash(team_report.text)
    assert squash("agrees,") not in text and squash("test confirms") not in text
    for s in team_report.ctx.scales:
        assert s.trend is not None
        said = squash("no clear change") in rows[s.key]
        assert said is (not s.trend.meaningful), s.key


def test_summary_would_catch_a_wrong_number(team_report: RenderedReport) -> None:
    s = team_report.ctx.scales[0]
    assert s.mean is not None
    row = _summary_rows(team_report)[s.key]
    assert squash(fmt.score(s.mean + 0.1)) not in row


def test_benchmarks_show_the_five_percentiles_and_the_counts(team_report: RenderedReport) -> None:
    text = squash(team_report.text)
    section = text[text.index(squash("Benchmarks")) :]
    for s in team_report.ctx.scales:
        for b in (s.jurisdiction_benchmark, s.national_benchmark):
            assert b is not None
            numbers = [fmt.pct(v) for v in (b.p10, b.p25, b.p50, b.p75, b.p90)]
            _in_order(section, [s.title, *numbers, fmt.count(b.n_teams), str(b.n_jurisdictions)])


def test_item_rows_show_the_unit_jurisdiction_and_nation(team_report: RenderedReport) -> None:
    text = squash(team_report.text)
    section = text[text.index(squash("Question by question")) :]
    for s in team_report.ctx.scales:
        for item in s.items:
            _in_order(
                section,
                [
                    item.text,
                    fmt.pct(item.pct_positive),
                    fmt.pct(item.jurisdiction_pct_positive),
                ],
            )


def test_cover_shows_responses_rate_and_confidentiality(team_report: RenderedReport) -> None:
    ctx = team_report.ctx
    _in_order(
        squash(team_report.pages[0]),
        [
            ctx.unit_name,
            " › ".join(ctx.parent_path),
            ctx.jurisdiction_name,
            f"{ctx.responses} of {ctx.invited} invited",
            fmt.pct(ctx.response_rate),
            f"groups of at least {ctx.min_report_n} people",
        ],
    )


def test_strengths_and_opportunities_are_listed(team_report: RenderedReport) -> None:
    page = squash(team_report.pages[0])
    for item in (*team_report.ctx.strengths, *team_report.ctx.opportunities):
        _in_order(page, [fmt.pct(item.pct_positive), item.text])


def test_low_agreement_is_flagged_and_high_agreement_is_not(team_report: RenderedReport) -> None:
    text = squash(team_report.text)
    section = text[text.index(squash("Agreement within the team")) :]
    flag = squash("The team sees this differently — talk about it before acting.")
    low = [s for s in team_report.ctx.scales if s.low_agreement]
    assert low and len(low) < len(team_report.ctx.scales)
    rows = _rows(section[: section.index(squash("Guide for the team debrief"))], team_report)
    for s in team_report.ctx.scales:
        assert rows[s.key].startswith(squash(s.title) + squash(fmt.coefficient(s.rwg_j)))
        assert (flag in rows[s.key]) is s.low_agreement


def test_team_report_is_two_to_four_pages(
    team_report: RenderedReport, letter_team_report: RenderedReport
) -> None:
    assert 2 <= len(team_report.pages) <= 4
    assert 2 <= len(letter_team_report.pages) <= 4


def test_page_size_follows_the_setting(
    team_report: RenderedReport, letter_team_report: RenderedReport
) -> None:
    a4 = team_report.reader.pages[0].mediabox
    letter = letter_team_report.reader.pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)


def test_missing_national_benchmark_states_the_reason(
    team_report_without_national: RenderedReport, team_report: RenderedReport
) -> None:
    words = strings_for("en")["note_benchmark_too_few_jurisdictions"]
    assert isinstance(words, str)
    reason = squash("Nation: " + words.format(min_jurisdictions=5))
    assert reason in squash(team_report_without_national.text)
    assert reason not in squash(team_report.text)


def test_suppressed_children_say_included_in_and_show_no_numbers(
    unit_report: RenderedReport,
) -> None:
    text = unit_report.text
    hidden = [c for c in unit_report.ctx.children if c.suppressed]
    assert hidden
    for child in hidden:
        lines = [line for line in text.splitlines() if line.startswith(child.unit_name)]
        assert len(lines) == 2  # heatmap and response rates
        for line in lines:
            rest = line.removeprefix(child.unit_name).strip()
            if child.reason == "too_few":
                why = f"fewer than {unit_report.ctx.min_report_n} answers"
            else:
                why = "hidden so that a smaller group cannot be worked out"
            assert rest == f"{why} — included in {child.included_in}"
            assert not re.search(r"\d", rest.replace(str(unit_report.ctx.min_report_n), "", 1))


def test_heatmap_prints_the_value_of_each_shown_cell(unit_report: RenderedReport) -> None:
    text = squash(unit_report.text)
    section = text[text.index(squash("Units at a glance")) :]
    for child in unit_report.ctx.children:
        if child.suppressed:
            continue
        _in_order(section, [child.unit_name, *(fmt.pct(c.pct_positive) for c in child.cells)])


def test_unit_report_shows_response_rates_and_psychometrics(unit_report: RenderedReport) -> None:
    text = squash(unit_report.text)
    for row in unit_report.ctx.response_rates:
        if not row.suppressed:
            _in_order(
                text,
                [
                    row.unit_name,
                    fmt.count(row.responses),
                    str(row.invited),
                    fmt.pct(row.response_rate),
                ],
            )
    section = text[text.index(squash("How well the scales measure")) :]
    for p in unit_report.ctx.psychometrics:
        numbers = [fmt.coefficient(v) for v in (p.alpha, p.omega, p.icc1, p.icc2)]
        _in_order(section, [p.title, fmt.count(p.n_complete), *numbers])
    low = [p for p in unit_report.ctx.psychometrics if p.icc2_low]
    assert low
    assert text.count(squash("Differences between teams not reliably detectable.")) == len(low)


def test_exhaustion_is_labelled_lower_is_better(team_report: RenderedReport) -> None:
    rows = _summary_rows(team_report)
    _in_order(
        rows["emotional_exhaustion"],
        ["Emotional Exhaustion", "% reporting emotional exhaustion", "LOWER IS BETTER"],
    )
    assert squash("LOWER IS BETTER") not in rows["psychological_safety"]


def test_comments_appear_only_when_the_context_has_them(
    unit_report: RenderedReport, team_report: RenderedReport
) -> None:
    assert not unit_report.ctx.comments
    assert "In their own words" not in unit_report.text
    ctx = team_report.ctx
    if ctx.comments:
        for comment in ctx.comments:
            assert squash(comment) in squash(team_report.text)


# --- tagged PDF ---------------------------------------------------------------------------


def _catalog(report: RenderedReport) -> DictionaryObject:
    root = report.reader.trailer["/Root"]
    assert isinstance(root, DictionaryObject)
    return root


def _structure_elements(node: Any) -> list[DictionaryObject]:
    found: list[DictionaryObject] = []
    stack = [node]
    while stack:
        current = stack.pop()
        current = current.get_object() if hasattr(current, "get_object") else current
        if isinstance(current, DictionaryObject):
            if current.get("/Type") == "/StructElem":
                found.append(current)
            kids = current.get("/K")
            if kids is not None:
                kids = kids.get_object()
                stack.extend(kids if isinstance(kids, list) else [kids])
        elif isinstance(current, list):
            stack.extend(current)
    return found


@pytest.mark.parametrize("which", ["team_report", "unit_report"])
def test_pdf_is_tagged_with_language_title_and_author(
    which: str, request: pytest.FixtureRequest
) -> None:
    report: RenderedReport = request.getfixturevalue(which)
    catalog = _catalog(report)
    assert "/StructTreeRoot" in catalog
    assert catalog["/MarkInfo"]["/Marked"] == BooleanObject(True)
    assert catalog["/Lang"] == "en"
    info = report.reader.metadata
    kind = "team safety culture report" if report.ctx.kind == "team" else "safety culture report"
    title = f"{report.ctx.unit_name}: {kind} {report.ctx.wave_year}"
    assert info is not None and info.title == title
    assert info.author and report.ctx.jurisdiction_name in info.author
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert "pdfuaid:part" in xmp


def test_every_figure_in_the_structure_tree_has_alt_text(unit_report: RenderedReport) -> None:
    root = _catalog(unit_report)["/StructTreeRoot"].get_object()
    figures = [e for e in _structure_elements(root) if e.get("/S") == "/Figure"]
    assert len(figures) >= 10
    assert all(str(e.get("/Alt", "")).strip() for e in figures)
