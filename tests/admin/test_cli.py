"""The administration CLI: the same services as the pages; errors are one line and exit 2."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Invitation, RosterEntry, User, Wave

from .conftest import roster_csv, standard_roster


def run(app: Flask, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_the_annual_cycle_from_the_command_line(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    assert (
        run(app, "jurisdictions", "create", "--name", "Lake County", "--slug", "lake").exit_code
        == 0
    )
    result = run(
        app,
        "users",
        "create",
        "--email",
        "Admin@Lake.org",
        "--role",
        "jurisdiction_admin",
        "--jurisdiction",
        "lake",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert session.scalars(select(User.email)).all() == ["admin@lake.org"]
    file = tmp_path / "staff.csv"
    file.write_bytes(standard_roster())
    dry = run(app, "roster", "import", str(file), "--jurisdiction", "lake", "--dry-run")
    assert dry.exit_code == 0 and "dry run" in dry.output
    assert session.scalar(select(func.count()).select_from(RosterEntry)) == 0
    assert run(app, "roster", "import", str(file), "--jurisdiction", "lake").exit_code == 0
    assert session.scalar(select(func.count()).select_from(RosterEntry)) == 12
    today = date.today()
    created = run(
        app,
        "waves",
        "create",
        "--jurisdiction",
        "lake",
        "--year",
        str(today.year),
        "--instrument",
        "team-safety-culture@2026.1",
        "--opens",
        today.isoformat(),
        "--closes",
        (today + timedelta(days=10)).isoformat(),
    )
    assert created.exit_code == 0, created.output
    wave_id = created.output.strip()
    assert wave_id.isdigit()
    assert f"{wave_id}\tlake\t{today.year}\tdraft" in run(app, "waves", "list").output
    launched = run(app, "waves", "launch", wave_id)
    assert launched.exit_code == 0 and "12 invitations" in launched.output
    again = run(app, "waves", "launch", wave_id)
    assert again.exit_code == 2
    assert again.output.strip().splitlines() == [
        f"error: wave {wave_id} was already launched (open)"
    ]
    status = run(app, "waves", "status", wave_id)
    assert "invited 12 / sent 12 / failed 0" in status.output and "answered 0" in status.output
    assert run(app, "waves", "remind", wave_id).exit_code == 0
    closed = run(app, "waves", "close", wave_id)
    assert closed.exit_code == 0
    assert session.scalar(select(func.count()).where(Invitation.email.is_not(None))) == 0


def test_bad_roster_prints_every_line_and_imports_nothing(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    run(app, "jurisdictions", "create", "--name", "Lake", "--slug", "lake")
    file = tmp_path / "bad.csv"
    file.write_bytes(roster_csv([("ok@x.org", "T"), ("OK@x.org", "T"), ("bad", "")]))
    result = run(app, "roster", "import", str(file), "--jurisdiction", "lake")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "line 3: duplicate email ok@x.org (first on line 2)",
        "line 4: invalid email 'bad'",
        "line 4: empty unit",
        "error: 3 problem(s) in the roster; nothing was imported",
    ]
    assert session.scalar(select(func.count()).select_from(RosterEntry)) == 0


def test_refusals_are_one_line_with_status_2(app: Flask, session: Session) -> None:
    run(app, "jurisdictions", "create", "--name", "Lake", "--slug", "lake")
    today = date.today()
    backwards = run(
        app,
        "waves",
        "create",
        "--jurisdiction",
        "lake",
        "--year",
        "2031",
        "--opens",
        today.isoformat(),
        "--closes",
        (today - timedelta(days=1)).isoformat(),
    )
    assert backwards.exit_code == 2 and backwards.output.startswith("error: dates: the wave closes")
    unknown = run(
        app,
        "waves",
        "create",
        "--jurisdiction",
        "lake",
        "--year",
        "2031",
        "--instrument",
        "no-such@1",
        "--opens",
        today.isoformat(),
        "--closes",
        today.isoformat(),
    )
    assert unknown.exit_code == 2 and "no instrument 'no-such@1'" in unknown.output
    wave_id = run(
        app,
        "waves",
        "create",
        "--jurisdiction",
        "lake",
        "--year",
        "2031",
        "--opens",
        today.isoformat(),
        "--closes",
        today.isoformat(),
    ).output.strip()
    empty = run(app, "waves", "launch", wave_id)
    assert empty.exit_code == 2
    assert (
        empty.output.strip() == "error: the roster is empty: import the staff list before launching"
    )
    assert session.get(Wave, int(wave_id)).status.value == "draft"  # type: ignore[union-attr]
    assert run(app, "waves", "status", "999").output.strip() == "error: no wave 999"
    nobody = run(
        app,
        "users",
        "create",
        "--email",
        "x@y.org",
        "--role",
        "leader",
        "--jurisdiction",
        "lake",
        "--unit",
        "Nowhere",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert nobody.exit_code == 2 and "no unit 'Nowhere'" in nobody.output
    assert session.scalar(select(func.count()).select_from(User)) == 0
