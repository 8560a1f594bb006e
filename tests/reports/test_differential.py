"""Differential tests: what is hidden changes nothing that is published.

Two states of one database that differ only in something the publication hides must give the
same published outputs, read as a user gets them: the text of every PDF ``reports build``
writes, the /reports page of an agency leader, the admin dashboard, and the researchers' CLI
JSON on the exported responses.

* A lone answer: one person is the only one in the jurisdiction to answer an item; whether
  they answered 1 or 5 must not show anywhere (not in a headline, a mean or an agreement).
* A hidden team of 4: changing all its answers may change only figures of groups of at least
  5 that include it (its office, the agency) — every other report stays byte-identical in
  text, and the lists, dashboard and hidden labels stay the same.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

import surveys
from app.models import Invitation, Response
from app.services import reports, waves
from scoring import cli as scoring_cli
from tests.reports.conftest import SmallJurisdiction, login, make_leader

INSTRUMENT = surveys.load_default()


def _pdf_texts(app: Flask, wave_id: int, out: Path) -> dict[str, list[str]]:
    result = app.test_cli_runner().invoke(
        args=["reports", "build", str(wave_id), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return {
        path.name: [p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages]
        for path in sorted(out.iterdir())
    }


def _cli_json(session: Session, small: SmallJurisdiction, wave_id: int, tmp: Path) -> Any:
    paths = {unit_id: path for path, unit_id in small.units.items()}
    rows = session.execute(
        select(Response.unit_id, Response.answers)
        .where(Response.wave_id == wave_id)
        .order_by(Response.id)
    ).all()
    responses = tmp / "responses.csv"
    with responses.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["unit", *INSTRUMENT.item_keys])
        for unit_id, answers in rows:
            writer.writerow([paths[unit_id], *(answers.get(k, "") for k in INSTRUMENT.item_keys)])
    out = tmp / "published.json"
    code = scoring_cli.main(
        [
            "publish", "--instrument", str(surveys.DEFAULT_INSTRUMENT_PATH),
            "--responses", str(responses), "--format", "json", "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8"))


def published(
    app: Flask, client: FlaskClient, session: Session, small: SmallJurisdiction, tmp: Path
) -> dict[str, Any]:
    """Everything the 2026 wave publishes, as its readers get it (nothing from a cache)."""
    wave_id = small.waves[2026]
    tmp.mkdir()
    # Stored responses are only ever added, so the cache keys on their count and ids; these
    # tests rewrite answers in place, so they empty the app's cache first.
    with app.app_context():
        reports.clear_cache()
    page = client.get("/reports")
    assert page.status_code == 200
    return {
        "pdfs": _pdf_texts(app, wave_id, tmp / "pdfs"),
        # The page's CSRF token (the sign-out form in the navigation) differs per request.
        "reports page": re.sub(
            r'name="csrf_token" value="[^"]*"', "csrf", page.get_data(as_text=True)
        ),
        "dashboard": waves.dashboard(session, None, wave_id).units,
        "cli json": _cli_json(session, small, wave_id, tmp),
    }


@pytest.fixture
def reader(app: Flask, session: Session, small: SmallJurisdiction) -> FlaskClient:
    make_leader(session, small, "agency-lead@lake.example", "")
    client = app.test_client()
    login(client, "agency-lead@lake.example")
    return client


def _lone_answer(session: Session, small: SmallJurisdiction) -> tuple[Response, str]:
    """Make one 2026 respondent of Office B / Team 1 the only one to answer an item."""
    wave_id = small.waves[2026]
    key = INSTRUMENT.scales[0].items[1].key
    rows = session.scalars(select(Response).where(Response.wave_id == wave_id)).all()
    team = small.units["Office B / Team 1"]
    chosen = next(
        r
        for r in rows
        if r.unit_id == team and len(set(r.answers.values())) > 2 and len(r.answers) > 20
    )
    for row in rows:
        if key in row.answers:
            row.answers = {k: v for k, v in row.answers.items() if k != key}
    session.commit()
    return chosen, key


def test_a_lone_answer_changes_no_published_output(
    app: Flask,
    reader: FlaskClient,
    session: Session,
    small: SmallJurisdiction,
    tmp_path: Path,
) -> None:
    chosen, key = _lone_answer(session, small)
    chosen.answers = {**chosen.answers, key: 1}
    session.commit()
    low = published(app, reader, session, small, tmp_path / "low")
    chosen.answers = {**chosen.answers, key: 5}
    session.commit()
    high = published(app, reader, session, small, tmp_path / "high")
    assert low.keys() == high.keys()
    for what in low:
        assert low[what] == high[what], what


def test_a_lone_answer_would_show_without_the_publication(
    session: Session, small: SmallJurisdiction
) -> None:
    """The test above can fail: the plain scores of the same data move with the lone answer."""
    import pandas as pd

    import scoring

    chosen, key = _lone_answer(session, small)
    means = []
    for value in (1, 5):
        chosen.answers = {**chosen.answers, key: value}
        session.commit()
        rows = session.execute(
            select(Response.unit_id, Response.answers).where(Response.wave_id == small.waves[2026])
        ).all()
        frame = pd.DataFrame(
            [{k: a.get(k) for k in INSTRUMENT.item_keys} for _, a in rows],
            columns=list(INSTRUMENT.item_keys),
        ).astype("float64")
        frame.insert(0, "unit", [str(u) for u, _ in rows])
        scored = scoring.score(frame, INSTRUMENT, min_n=5)
        means.append(scored.scales[INSTRUMENT.scales[0].key].units[str(chosen.unit_id)].mean)
    assert means[0] != means[1]


def _contexts(app: Flask, session: Session, small: SmallJurisdiction) -> dict[int, Any]:
    with app.app_context():
        reports.clear_cache()
        return {
            e.unit_id: reports.build_context(session, small.waves[2026], e.unit_id)
            for e in reports.list_reports(session, small.waves[2026])
            if e.shown
        }


def own_figures(ctx: Any) -> list[object]:
    """The numbers a report publishes about its own unit."""
    out: list[object] = [ctx.responses, ctx.invited, ctx.comments]
    for s in ctx.scales:
        out += [s.key, s.n, s.pct_positive, s.pct_neutral, s.pct_negative, s.pct_ci]
        out += [s.mean, s.ci, s.rwg_j, None if s.trend is None else s.trend.delta_points]
        out += [(i.key, i.n, i.pct_positive, i.pct_neutral, i.pct_negative) for i in s.items]
    for row in ctx.children:
        out.append((row.unit_name, row.included_in, row.reason, row.cells))
    return out


def _shown_cells(data: Any) -> Any:
    """Which units, scales and items the CLI shows, and the reasons for what it hides."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: walk(v)
                for k, v in value.items()
                if k in {"units", "scales", "items", "shown", "hidden"}
                or not isinstance(v, (int, float))
            }
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value if not isinstance(value, float) else None

    return walk(data)


def _grow_hidden_team(session: Session, small: SmallJurisdiction) -> list[Response]:
    """Office A / Team 3 gets 4 respondents in 2026 (hidden: fewer than 5)."""
    wave_id = small.waves[2026]
    team = small.units["Office A / Team 3"]
    donors = session.scalars(
        select(Response)
        .where(Response.wave_id == wave_id, Response.unit_id == small.units["Office B / Team 2"])
        .order_by(Response.id)
        .limit(2)
    ).all()
    for donor in donors:
        session.add(Response(wave_id=wave_id, unit_id=team, answers=dict(donor.answers)))
        session.add(Invitation(wave_id=wave_id, unit_id=team, token_hash=secrets.token_hex(32)))
    session.commit()
    rows = session.scalars(
        select(Response).where(Response.wave_id == wave_id, Response.unit_id == team)
    ).all()
    assert len(rows) == 4
    return list(rows)


def test_changing_a_hidden_team_of_4_changes_only_reports_of_groups_that_hold_it(
    app: Flask,
    reader: FlaskClient,
    session: Session,
    small: SmallJurisdiction,
    tmp_path: Path,
) -> None:
    team_rows = _grow_hidden_team(session, small)
    before = published(app, reader, session, small, tmp_path / "before")
    before_contexts = _contexts(app, session, small)
    entries = {e.path: e for e in reports.list_reports(session, small.waves[2026])}
    assert not entries["Office A / Team 3"].shown
    for row in team_rows:
        row.answers = {k: 6 - v for k, v in row.answers.items()}  # every answer turned round
    session.commit()
    after = published(app, reader, session, small, tmp_path / "after")
    after_contexts = _contexts(app, session, small)

    # Which units are shown, and why the others are not, does not move.
    assert before["reports page"] == after["reports page"]
    assert before["dashboard"] == after["dashboard"]
    assert before["pdfs"].keys() == after["pdfs"].keys()
    assert _shown_cells(before["cli json"]) == _shown_cells(after["cli json"])
    # A unit that does not hold the team publishes the same figures of its own. (Figures of
    # the whole wave printed in every report — the jurisdiction column, ICC(2) flags, and
    # change intervals whose variance is pooled over the level — include the team within
    # groups of far more than 5 and may move.)
    holders = {small.units[""], small.units["Office A"]}
    for path, unit_id in small.units.items():
        if unit_id in holders or not entries[path].shown:
            continue
        assert own_figures(before_contexts[unit_id]) == own_figures(after_contexts[unit_id]), path
    # The groups that hold it are groups of at least 5: there, numbers do move.
    for unit_id in holders:
        assert own_figures(before_contexts[unit_id]) != own_figures(after_contexts[unit_id])
