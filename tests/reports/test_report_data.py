"""Report contexts from the database: the numbers are scoring's, and nothing hidden leaks."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import scoring
import surveys
from app.models import Response
from app.reporting import ReportContext, render_pdf
from app.reporting import format as fmt
from app.services import reports
from tests.reports.conftest import SmallJurisdiction

MIN_N = 5


def _team_scores(session: Session, wave_id: int) -> scoring.WaveScores:
    """Scoring's own result for the wave's teams, computed here without the data layer."""
    instrument = surveys.load_default()
    rows = session.execute(
        select(Response.unit_id, Response.answers).where(Response.wave_id == wave_id)
    ).all()
    frame = pd.DataFrame(
        [{k: a.get(k) for k in instrument.item_keys} for _, a in rows],
        columns=list(instrument.item_keys),
    ).astype("float64")
    frame.insert(0, "unit", [str(u) for u, _ in rows])
    return scoring.score(frame, instrument, min_n=MIN_N)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_team_pdf_prints_the_numbers_scoring_produced(
    session: Session, small: SmallJurisdiction
) -> None:
    team = small.units["Office A / Team 1"]
    ctx = reports.build_context(session, small.waves[2026], team)
    after = _team_scores(session, small.waves[2026])
    change = scoring.compare(_team_scores(session, small.waves[2025]), after)
    text = _squash(
        "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(ctx))).pages)
    )
    for scale in surveys.load_default().scales:
        expected = after.scales[scale.key].units[str(team)]
        summary = ctx.scale(scale.key)
        assert summary.pct_positive == pytest.approx(expected.pct.positive)
        assert summary.mean == pytest.approx(expected.mean)
        assert summary.trend is not None
        delta = change.units[scale.key][str(team)].delta_pct_positive
        assert summary.trend.delta_points == pytest.approx(delta)
        for printed in (
            fmt.pct(expected.pct.positive),
            fmt.score(expected.mean),
            fmt.interval(expected.ci),
            fmt.delta(delta),
        ):
            assert _squash(printed) in text, (scale.key, printed)


def _all_contexts(
    session: Session, small: SmallJurisdiction
) -> dict[int, tuple[reports.WaveResults, dict[int, ReportContext]]]:
    out = {}
    for year, wave_id in small.waves.items():
        results = reports.wave_results(session, wave_id)
        contexts = {}
        for entry in reports.list_reports(session, wave_id):
            if entry.shown:
                contexts[entry.unit_id] = reports.build_context(session, wave_id, entry.unit_id)
            else:
                with pytest.raises(reports.UnitSuppressed, match="included in"):
                    reports.build_context(session, wave_id, entry.unit_id)
        out[year] = (results, contexts)
    return out


def test_no_hidden_team_can_be_recovered_by_subtraction(
    session: Session, small: SmallJurisdiction
) -> None:
    every = _all_contexts(session, small)
    hidden_somewhere = False
    for results, contexts in every.values():
        hidden = {u for u in results.units if u not in contexts}
        hidden_somewhere |= bool(hidden)
        names = {results.units[u].name for u in hidden}
        for unit_id, ctx in contexts.items():
            # A hidden child is listed only as "included in" its parent, without numbers.
            for row in ctx.children:
                if row.unit_name in names and row.unit_name not in {
                    results.units[c].name
                    for c in results.children.get(unit_id, ())
                    if c in contexts
                }:
                    assert row.included_in == ctx.unit_name and not row.cells
            for rate in ctx.response_rates:
                if rate.included_in is not None:
                    assert rate.responses is None and rate.invited is None
            # Whatever the parent holds beyond its shown children is 0 or a group of ≥ min n.
            shown_children = [c for c in results.children.get(unit_id, ()) if c in contexts]
            if not shown_children:
                continue
            for scale in ctx.scales:
                rest = scale.n - sum(contexts[c].scale(scale.key).n for c in shown_children)
                assert rest == 0 or rest >= MIN_N, (ctx.unit_name, scale.key, rest)
            rest = ctx.responses - sum(contexts[c].responses for c in shown_children)
            assert rest == 0 or rest >= MIN_N
    assert hidden_somewhere  # the fixture really exercises suppression
    # A change from last year only for units shown in both years.
    for year, (_results, contexts) in every.items():
        earlier = every.get(year - 1)
        for unit_id, ctx in contexts.items():
            has_trend = any(s.trend is not None for s in ctx.scales)
            assert has_trend == (earlier is not None and unit_id in earlier[1])


def test_national_comparison_is_withheld_below_the_jurisdiction_minimum(
    session: Session, small: SmallJurisdiction
) -> None:
    ctx = reports.build_context(session, small.waves[2026], small.units[""], min_jurisdictions=5)
    assert ctx.national_benchmark_note and "fewer than 5" in ctx.national_benchmark_note
    assert all(s.percentile_national is None and s.national_benchmark is None for s in ctx.scales)
    assert all(i.national_pct_positive is None for s in ctx.scales for i in s.items)
    published = reports.build_context(
        session, small.waves[2026], small.units["Office B / Team 1"], min_jurisdictions=1
    )
    assert published.national_benchmark_note is None
    assert all(s.national_benchmark is not None for s in published.scales)


def test_lower_is_better_percentiles_are_turned_around(
    session: Session, small: SmallJurisdiction
) -> None:
    wave = small.waves[2026]
    teams = [small.units[p] for p in ("Office A / Team 1", "Office B / Team 1")]
    ctxs = [reports.build_context(session, wave, t) for t in teams]
    lower = next(s.key for s in surveys.load_default().scales if not s.higher_is_better)
    a, b = (c.scale(lower) for c in ctxs)
    assert a.pct_positive != b.pct_positive
    worse, better = (a, b) if a.pct_positive > b.pct_positive else (b, a)  # type: ignore[operator]
    assert better.percentile_jurisdiction > worse.percentile_jurisdiction  # type: ignore[operator]


def test_comments_only_for_large_groups_and_masked(
    session: Session, small: SmallJurisdiction
) -> None:
    agency = reports.build_context(session, small.waves[2026], small.units[""])
    assert agency.comments and agency.comment_question
    joined = " ".join(agency.comments)
    assert "555-123-4567" not in joined and "jane.doe@" not in joined and "001234" not in joined
    team = reports.build_context(session, small.waves[2026], small.units["Office A / Team 1"])
    assert team.comments == ()


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("mail me: a.b-c@agency.gov.example now", "a.b-c@agency.gov.example"),
        ("call (555) 201-3344 or +1 555 201 3344", "201"),
        ("see case no. 88123 and CW-2024-001234", "88123"),
        ("referral #A77231 was late", "A77231"),
    ],
)
def test_mask_identifiers(text: str, gone: str) -> None:
    masked = reports.mask_identifiers(text)
    assert gone not in masked


def test_mask_identifiers_keeps_ordinary_numbers() -> None:
    assert reports.mask_identifiers("3 visits in 2 weeks, 45 cases") == (
        "3 visits in 2 weeks, 45 cases"
    )


def test_wave_without_responses_says_so(session: Session, small: SmallJurisdiction) -> None:
    session.execute(delete(Response).where(Response.wave_id == small.waves[2026]))
    with pytest.raises(reports.NoResponses, match="no responses yet"):
        reports.build_context(session, small.waves[2026], small.units[""])
    with pytest.raises(reports.UnknownUnit):
        reports.build_context(session, small.waves[2025], 10**9)
