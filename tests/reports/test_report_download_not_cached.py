"""A leader's report PDF is never kept in a browser's or a proxy's cache."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from tests.reports.conftest import SmallJurisdiction, login, make_leader


def test_report_pdf_is_sent_with_no_store(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    response = client.get(f"/reports/{small.waves[2026]}/{small.units['Office A / Team 1']}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers and "Last-Modified" not in response.headers
