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
from app.models import OrgUnit, Response
from app.reporting import ReportContext, render_pdf
from app.reporting import format as fmt
from app.services import reports
from tests.reports.conftest import SmallJurisdiction

MIN_N = 5


def _publication(
    session: Session, small: SmallJurisdiction, year: int, previous: scoring.Publication | None
) -> scoring.Publication:
    """Scoring's own publication of the wave, computed here from the rows, without the app."""
    instrument = surveys.load_default()
    rows = session.execute(
        select(Response.unit_id, Response.answers, Response.comment).where(
            Response.wave_id == small.waves[year]
        )
    ).all()
    frame = pd.DataFrame(
        [{k: a.get(k) for k in instrument.item_keys} for _, a, _ in rows],
        columns=list(instrument.item_keys),
    ).astype("float64")
    frame.insert(0, "unit", [str(u) for u, _, _ in rows])
    frame["comment"] = [c for _, _, c in rows]
    units = {u.id: u for u in session.scalars(select(OrgUnit))}
    tree = {
        str(i): None if units[i].parent_id is None else str(units[i].parent_id)
        for i in small.units.values()
    }
    return scoring.publish(
        frame,
        instrument,
        tree,
        min_n=MIN_N,
        comment_column="comment",
        kinds={str(i): str(units[i].kind) for i in small.units.values()},
        previous=previous,
    )


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_team_pdf_prints_the_numbers_of_the_publication(
    session: Session, small: SmallJurisdiction
) -> None:
    team = small.units["Office A / Team 1"]
    ctx = reports.build_context(session, small.waves[2026], team)
    pub = _publication(session, small, 2026, _publication(session, small, 2025, None))
    text = _squash(
        "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(ctx))).pages)
    )
    changes = 0
    for scale in surveys.load_default().scales:
        expected = pub.units[str(team)].scales[scale.key]
        summary = ctx.scale(scale.key)
        assert expected.shown and expected.pct_positive is not None
        assert expected.pct_ci is not None
        assert summary.pct_positive == pytest.approx(expected.pct_positive)
        assert summary.pct_ci == pytest.approx((expected.pct_ci.low, expected.pct_ci.high))
        printed = [
            fmt.pct(expected.pct_positive),
            fmt.pct_interval((expected.pct_ci.low, expected.pct_ci.high)),
        ]
        change = expected.change
        if change.hidden is not None:
            assert summary.trend is None and summary.trend_note == change.hidden.reason
        else:
            changes += 1
            assert summary.trend is not None and change.delta is not None
            assert summary.trend.delta_points == pytest.approx(change.delta)
            assert summary.trend.meaningful == (change.verdict in ("up", "down"))
            printed.append(fmt.delta(change.delta))
        if expected.mean is not None and expected.mean_ci is not None:
            printed += [
                fmt.score(expected.mean),
                fmt.interval((expected.mean_ci.low, expected.mean_ci.high)),
            ]
        for value in printed:
            assert _squash(value) in text, (scale.key, value)
    assert changes, "the fixture has at least one comparable scale"


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


def test_national_comparison_needs_the_publication_rule_whatever_the_setting(
    session: Session, small: SmallJurisdiction
) -> None:
    # One jurisdiction and 6 teams: the publication withholds benchmarks and ranks, and a
    # lower setting (1 jurisdiction) does not bring them back.
    for min_jurisdictions in (5, 1):
        ctx = reports.build_context(
            session, small.waves[2026], small.units[""], min_jurisdictions=min_jurisdictions
        )
        assert ctx.national_benchmark_note in {
            "benchmark_too_few_units",
            "benchmark_too_few_jurisdictions",
        }
        assert all(s.national_benchmark is None for s in ctx.scales)
        assert all(s.percentile_national is None for s in ctx.scales)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(ctx))).pages)
    assert "Not published" in text


def test_no_percentile_rank_among_fewer_than_20_units(
    session: Session, small: SmallJurisdiction
) -> None:
    ctx = reports.build_context(session, small.waves[2026], small.units["Office B / Team 1"])
    assert all(s.percentile_jurisdiction is None for s in ctx.scales)
    assert all(s.jurisdiction_benchmark is None for s in ctx.scales)


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
