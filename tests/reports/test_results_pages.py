"""Results in the browser: the leader's tree with search, a unit's page, last year's plan."""

from __future__ import annotations

import io
import re
from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent
from app.reporting import format as fmt
from app.services import plans, reports
from app.services.reports.browse import MAX_QUERY, _tree
from app.services.reports.listing import ReportEntry

from .conftest import SmallJurisdiction, login, make_leader


def _entry(unit_id: int, path: str, shown: bool = True) -> ReportEntry:
    name = path.rsplit(" / ", 1)[-1] or "Agency"
    return ReportEntry(
        unit_id=unit_id,
        name=name,
        path=path,
        unit_kind="team",
        kind="team",
        depth=path.count(" / ") + (1 if path else 0),
        shown=shown,
        included_in=None,
        filename=f"{unit_id}.pdf",
    )


def _shape(nodes: tuple) -> list:  # type: ignore[type-arg]
    return [(n.entry.name, n.matches, _shape(n.children)) for n in nodes]


def test_the_tree_nests_units_and_a_search_keeps_matches_with_the_units_around_them() -> None:
    entries = (
        _entry(1, "Region 1"),
        _entry(2, "Region 1 / Office A"),
        _entry(3, "Region 1 / Office A / Team North"),
        _entry(4, "Region 1 / Office A / Team South"),
        _entry(5, "Region 1 / Office AB"),  # a name that starts like another's is no child
        _entry(6, "Region 1 / Office AB / Team North"),
    )
    roots, matched = _tree(entries, "")
    assert matched == 6
    assert _shape(roots) == [
        (
            "Region 1",
            True,
            [
                ("Office A", True, [("Team North", True, []), ("Team South", True, [])]),
                ("Office AB", True, [("Team North", True, [])]),
            ],
        )
    ]
    roots, matched = _tree(entries, "  team   SOUTH ")
    assert matched == 1
    assert _shape(roots) == [("Region 1", False, [("Office A", False, [("Team South", True, [])])])]
    # The search reads whole paths, so a matching office brings its teams along.
    roots, _ = _tree(entries, "office ab")
    assert _shape(roots) == [("Region 1", False, [("Office AB", True, [("Team North", True, [])])])]
    roots, _ = _tree(entries, "a / team north")
    assert _shape(roots) == [("Region 1", False, [("Office A", False, [("Team North", True, [])])])]
    assert _tree(entries, "nowhere") == ((), 0)


def test_the_home_filters_by_search_without_javascript(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    wave = small.waves[2026]
    team1, team2 = small.units["Office A / Team 1"], small.units["Office A / Team 2"]
    page = client.get("/reports?q=team+1").get_data(as_text=True)
    assert f'href="/reports/{wave}/{team1}"' in page
    assert f'href="/reports/{wave}/{team2}"' not in page
    assert f'href="/reports/{wave}/{small.units["Office A"]}"' in page  # the unit above it
    assert "1 of 4 units match" in page
    page = client.get("/reports?q=nothing-like-this").get_data(as_text=True)
    assert "No unit matches this search" in page and f"/reports/{wave}/{team1}" not in page
    response = client.get("/reports", query_string={"q": "x" * 5000})
    assert response.status_code == 200
    assert 'value="' + "x" * MAX_QUERY + '"' in response.get_data(as_text=True)


def test_a_leader_lands_on_the_results_home_after_signing_in(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    from .conftest import PASSWORD

    response = client.post(
        "/login",
        data={"email": "lead-a@lake.example", "password": PASSWORD, "csrf_token": token[1]},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/reports"
    assert client.get("/").headers["Location"] == "/reports"


def _summary_rows(page: str) -> dict[str, str]:
    """Scale title → the headline cell's text, read from the page's summary table."""
    table = page.split('<table class="summary">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]:
        title = re.search(r'<th scope="row" class="c-scale">\s*([^<]+?)\s*<', row)
        cell = re.search(r'<td class="(?:c-headline num|suppressed)"[^>]*>(.*?)</td>', row, re.S)
        assert title and cell, row
        rows[unescape(title[1])] = unescape(re.sub(r"<[^>]+>", "", cell[1])).strip()
    return rows


def test_a_teams_page_shows_the_report_contexts_numbers_and_links_pdf_and_plan(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    wave, team = small.waves[2026], small.units["Office A / Team 1"]
    response = client.get(f"/reports/{wave}/{team}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    ctx = reports.build_context(session, wave, team)
    rows = _summary_rows(page)
    assert set(rows) == {s.title for s in ctx.scales}
    for scale in ctx.scales:
        if scale.suppressed:
            assert "not shown" in rows[scale.title] or "Hidden" in rows[scale.title]
        else:
            assert rows[scale.title].startswith(fmt.pct(scale.pct_positive)), scale.key
    assert f'href="/reports/{wave}/{team}.pdf"' in page
    assert f'href="/plans/{wave}/{team}"' in page
    assert "Change since 2025" in page  # the trend column, with its verdicts
    assert "no clear change" in page or "clear improvement" in page or "clear decline" in page
    # The PDF is rendered from the same context: its headline figures are the page's.
    pdf = client.get(f"/reports/{wave}/{team}.pdf").data
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    pdf_pcts = re.findall(r"\d+%", text)
    page_pcts = [rows[s.title].split()[0] for s in ctx.scales if not s.suppressed]
    position = 0
    for value in page_pcts:  # in order, as the summary table lists them
        position = pdf_pcts.index(value, position) + 1
    views = session.scalars(select(AuditEvent).where(AuditEvent.action == "report.view")).all()
    assert [e.detail["unit_id"] for e in views] == [team]


def test_an_offices_page_shows_its_heatmap_and_why_a_team_is_hidden(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    wave, office = small.waves[2026], small.units["Office A"]
    page = client.get(f"/reports/{wave}/{office}").get_data(as_text=True)
    assert 'class="heatmap"' in page
    # Team 3 has 2 answers: named with the publication's reason, never with a number.
    assert "fewer than 5 answers — included in Office A" in page
    assert "Team 3" in page
    # No plan link for a unit the leader cannot plan for is offered (the office can have one).
    assert f'href="/plans/{wave}/{office}"' in page


def test_hidden_unknown_and_out_of_scope_pages_are_not_found(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    wave = small.waves[2026]
    hidden = client.get(f"/reports/{wave}/{small.units['Office A / Team 3']}")
    assert hidden.status_code == 404
    text = hidden.get_data(as_text=True)
    assert "fewer than 5 answers" in text and "%" not in text.split("<main", 1)[1]
    for url in (
        f"/reports/{wave}/{small.units['Office B / Team 1']}",  # another office
        f"/reports/{wave}/{small.units['']}",  # the agency above the leader's office
        f"/reports/{wave}/999999",
        f"/reports/999999/{small.units['Office A / Team 1']}",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"not yours" in response.data
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "report.view")).all() == []


def test_next_years_report_shows_last_years_plan_beside_the_change(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    team = small.units["Office B / Team 1"]
    plans.save_plan(
        session,
        None,
        small.waves[2025],
        team,
        [
            plans.FocusInput(
                "safety_organizing",
                (
                    plans.ActionInput("Weekly safety huddle", "team lead", None, "done"),
                    plans.ActionInput("Pair visits to new homes", "supervisor", None, "planned"),
                ),
            )
        ],
    )
    ctx = reports.build_context(session, small.waves[2026], team)
    assert ctx.previous_plan is not None and ctx.previous_plan.year == 2025
    assert (ctx.previous_plan.actions_done, ctx.previous_plan.actions_total) == (1, 2)
    assert reports.build_context(session, small.waves[2025], team).previous_plan is None
    other = reports.build_context(session, small.waves[2026], small.units["Office B / Team 2"])
    assert other.previous_plan is None

    make_leader(session, small, "lead-b@lake.example", "Office B")
    client = app.test_client()
    login(client, "lead-b@lake.example")
    page = client.get(f"/reports/{small.waves[2026]}/{team}").get_data(as_text=True)
    assert "The action plan after the 2025 survey" in page
    assert "Weekly safety huddle" in page and "Pair visits to new homes" in page
    assert "1 of 2 actions done" in page
    organizing = ctx.scale("safety_organizing")
    if organizing.trend is not None:
        assert f"change since 2025: {fmt.delta(organizing.trend.delta_points)}" in page
    pdf = client.get(f"/reports/{small.waves[2026]}/{team}.pdf").data
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Weekly safety huddle" in " ".join(text.split())
    assert "1 of 2 actions done" in " ".join(text.split())


def test_changing_last_years_plan_is_never_hidden_by_a_cached_pdf(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    team = small.units["Office B / Team 1"]

    def plan(text: str) -> None:
        plans.save_plan(
            session,
            None,
            small.waves[2025],
            team,
            [
                plans.FocusInput(
                    "safety_organizing", (plans.ActionInput(text, "team lead", None, "done"),)
                )
            ],
        )

    def pdf_text(client: FlaskClient) -> str:
        pdf = client.get(f"/reports/{small.waves[2026]}/{team}.pdf").data
        return " ".join(
            " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages
        )

    make_leader(session, small, "lead-b@lake.example", "Office B")
    client = app.test_client()
    login(client, "lead-b@lake.example")
    plan("Monthly case review")
    assert "Monthly case review" in pdf_text(client)
    plan("Buddy system for home visits")
    text = pdf_text(client)
    assert "Buddy system for home visits" in text and "Monthly case review" not in text
