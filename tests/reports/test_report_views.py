"""/reports for a leader: only units in scope, 404 outside it and for hidden units, audited."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent
from tests.reports.conftest import SmallJurisdiction, login, make_leader


def test_leader_lists_only_units_in_scope(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    page = client.get("/reports").get_data(as_text=True)
    # The units are a tree: each named once, under the unit above it.
    assert f'/reports/{small.waves[2026]}/{small.units["Office A / Team 1"]}">Team 1</a>' in page
    assert f"/reports/{small.waves[2026]}/{small.units['Office A / Team 1']}.pdf" in page
    assert "included in Office A" in page  # the hidden team, without a link
    assert f"{small.units['Office A / Team 3']}.pdf" not in page.split("2025")[0]
    assert "Office B" not in page
    assert f"/{small.units['']}.pdf" not in page


def test_out_of_scope_unit_is_not_found(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    response = client.get(f"/reports/{small.waves[2026]}/{small.units['Office B / Team 1']}.pdf")
    assert response.status_code == 404
    assert b"not yours" in response.data


def test_suppressed_unit_is_not_found_with_the_reason(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    response = client.get(f"/reports/{small.waves[2026]}/{small.units['Office A / Team 3']}.pdf")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "fewer than 5 answers" in text and "included in the report of Office A" in text
    assert "%" not in text


def test_download_is_a_pdf_and_audited(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    team = small.units["Office A / Team 1"]
    response = client.get(f"/reports/{small.waves[2026]}/{team}.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF")
    assert "lake-reports-2026-office-a__team-1.pdf" in response.headers["Content-Disposition"]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "report.download")).all()
    assert [e.detail["unit_id"] for e in events] == [team]
    assert events[0].actor == "lead-a@lake.example"


def test_cli_writes_one_file_per_shown_unit(
    app: Flask, small: SmallJurisdiction, tmp_path: Path
) -> None:
    out = tmp_path / "pdfs"
    result = app.test_cli_runner().invoke(
        args=["reports", "build", str(small.waves[2026]), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    expected = {
        "lake-reports-2026-agency.pdf",
        "lake-reports-2026-office-a.pdf",
        "lake-reports-2026-office-a__team-1.pdf",
        "lake-reports-2026-office-b.pdf",
        "lake-reports-2026-office-b__team-1.pdf",
        "lake-reports-2026-office-b__team-2.pdf",
        "lake-reports-2026-office-b__team-3.pdf",
    }
    assert {p.name for p in out.iterdir()} == expected
    assert sorted(Path(line).name for line in result.output.splitlines()) == sorted(expected)
    assert all(p.read_bytes().startswith(b"%PDF") for p in out.iterdir())


def test_cli_refuses_a_hidden_unit_in_one_line(
    app: Flask, small: SmallJurisdiction, tmp_path: Path
) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "reports",
            "build",
            str(small.waves[2026]),
            "--out",
            str(tmp_path),
            "--unit",
            "Office A / Team 3",
        ]
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "included in the report of Office A" in result.output
    assert not list(tmp_path.glob("*.pdf"))
