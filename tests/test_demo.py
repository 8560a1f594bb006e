"""The demo: `flask --app wsgi demo` seeds realistic data quickly, twice without harm."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin
import pytest

import surveys
from app.services.tokens import hash_token

ROOT = Path(__file__).resolve().parent.parent
#: The survey year of the demo's open wave when seeded today (it opened three weeks ago).
THIS_YEAR = (datetime.now(UTC).date() - timedelta(days=21)).year


def _run_demo(instance: Path) -> tuple[float, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "APP_ENV"}
    }
    env["INSTANCE_PATH"] = str(instance)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "demo", "--no-serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    return elapsed, result.stdout


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    instance = tmp_path_factory.mktemp("demo-instance")
    first_time, first_out = _run_demo(instance)
    connection = sqlite3.connect(instance / "survey.sqlite3")
    counts_after_first = _table_counts(connection)
    second_time, second_out = _run_demo(instance)
    return {
        "instance": instance,
        "db": connection,
        "times": (first_time, second_time),
        "outputs": (first_out, second_out),
        "counts": (counts_after_first, _table_counts(connection)),
    }


def _table_counts(connection: sqlite3.Connection) -> dict[str, int]:
    tables = [
        "jurisdictions",
        "org_units",
        "roster_entries",
        "waves",
        "invitations",
        "responses",
        "daily_counts",
        "users",
        "instruments",
    ]
    return {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_seeding_twice_is_fast_and_adds_nothing_the_second_time(seeded: dict) -> None:
    first, second = seeded["times"]
    assert first < 60 and second < 60
    before, after = seeded["counts"]
    assert before == after
    assert "already present" in seeded["outputs"][1]


def test_demo_prints_a_login_and_three_working_survey_links(seeded: dict) -> None:
    output = seeded["outputs"][0]
    assert "national@demo.example" in output
    password = (seeded["instance"] / "demo-password").read_text().strip()
    assert password in output
    links = [line.strip() for line in output.splitlines() if "/s/" in line]
    assert len(links) == 3
    db = seeded["db"]
    for link in links:
        token = link.rsplit("/s/", 1)[1]
        row = db.execute(
            "SELECT i.completed, w.status FROM invitations i JOIN waves w ON w.id = i.wave_id "
            "WHERE i.token_hash = ?",
            (hash_token(token),),
        ).fetchone()
        assert row == (0, "open")
    assert links == [line.strip() for line in seeded["outputs"][1].splitlines() if "/s/" in line]


def test_six_jurisdictions_each_closed_wave_contributes_benchmark_figures(seeded: dict) -> None:
    db = seeded["db"]
    assert db.execute("SELECT count(*) FROM jurisdictions").fetchone()[0] == 6
    # Every closed wave has an approved contribution at benchmark level or above, so each
    # jurisdiction's reports compare with the five others (a reader is never in its own group).
    rows = db.execute(
        "SELECT w.id, c.level FROM waves w LEFT JOIN contributions c ON c.wave_id = w.id "
        "WHERE w.status = 'closed'"
    ).fetchall()
    assert len(rows) == 6
    assert all(level is not None and level.lower() != "none" for _, level in rows), rows


def test_every_demo_wave_has_an_agreement_and_open_ones_share_benchmarks(seeded: dict) -> None:
    # The demo writes its agreements itself: one per wave, and the open waves' already allow
    # benchmark figures, so their contributions can leave once they close.
    rows = (
        seeded["db"]
        .execute(
            "SELECT j.slug, w.status, a.level FROM waves w "
            "JOIN jurisdictions j ON j.id = w.jurisdiction_id "
            "LEFT JOIN sharing_agreements a ON a.wave_id = w.id"
        )
        .fetchall()
    )
    assert len(rows) == 12
    closed = {slug: level for slug, status, level in rows if status == "closed"}
    assert closed == {
        "alder": "psychometric",
        "birch-valley": "psychometric",
        "cedar": "research_extract",
        "dogwood": "psychometric",
        "elm-river": "benchmark",
        "fir-coast": "benchmark",
    }
    assert [level for _, status, level in rows if status == "open"] == ["benchmark"] * 6


def test_each_jurisdiction_has_last_years_closed_wave_and_an_open_one(seeded: dict) -> None:
    rows = (
        seeded["db"]
        .execute("SELECT jurisdiction_id, year, status FROM waves ORDER BY jurisdiction_id, year")
        .fetchall()
    )
    assert len(rows) == 12
    assert {(y, s) for _, y, s in rows} == {(THIS_YEAR - 1, "closed"), (THIS_YEAR, "open")}
    emails_kept = (
        seeded["db"]
        .execute(
            "SELECT count(*) FROM invitations i JOIN waves w ON w.id = i.wave_id "
            "WHERE w.status = 'closed' AND (i.email IS NOT NULL OR i.token_sealed IS NOT NULL)"
        )
        .fetchone()[0]
    )
    assert emails_kept == 0


def test_org_trees_have_about_3000_staff_in_teams_of_2_to_25(seeded: dict) -> None:
    db = seeded["db"]
    kinds = dict(db.execute("SELECT kind, count(*) FROM org_units GROUP BY kind").fetchall())
    assert kinds["agency"] == 6 and kinds["region"] >= 12 and kinds["office"] > kinds["region"]
    sizes = [
        n for (n,) in db.execute("SELECT count(*) FROM roster_entries GROUP BY unit_id").fetchall()
    ]
    assert 2500 <= sum(sizes) <= 3500
    assert min(sizes) >= 2 and max(sizes) <= 25


def _responses(db: sqlite3.Connection, year: int) -> pd.DataFrame:
    frame = pd.read_sql_query(
        "SELECT r.unit_id, r.answers FROM responses r JOIN waves w ON w.id = r.wave_id "
        f"WHERE w.year = {year}",
        db,
    )
    answers = pd.json_normalize(frame["answers"].map(json.loads).tolist())
    answers["unit"] = frame["unit_id"].to_numpy()
    return answers


def test_some_teams_fall_below_the_reporting_threshold_and_some_answers_do_not_apply(
    seeded: dict,
) -> None:
    answers = _responses(seeded["db"], THIS_YEAR)
    per_team = answers.groupby("unit").size()
    assert (per_team < 5).sum() >= 3
    instrument = surveys.load_default()
    missing = answers[list(instrument.item_keys)].isna().to_numpy().mean()
    assert 0.005 < missing < 0.10


@pytest.mark.parametrize("year", [THIS_YEAR - 1, THIS_YEAR])
def test_seeded_answers_have_realistic_reliability_and_team_differences(
    seeded: dict, year: int
) -> None:
    instrument = surveys.load_default()
    answers = _responses(seeded["db"], year)
    for scale in instrument.scales:
        items = answers[list(scale.item_keys)].astype(float).copy()
        for item in scale.items:
            if item.reverse:
                items[item.key] = scale.response_scale.points + 1 - items[item.key]
        alpha, _ = pingouin.cronbach_alpha(items.dropna())
        assert 0.70 <= alpha <= 0.90, (scale.key, alpha)
        # ICC(1) from a one-way ANOVA of respondent scale means on team (Bliese's formula).
        frame = pd.DataFrame({"y": items.mean(axis=1), "g": answers["unit"]}).dropna()
        groups = frame.groupby("g")["y"]
        n_j = groups.size().to_numpy(dtype=float)
        big_n, k = n_j.sum(), len(n_j)
        ms_between = (n_j * (groups.mean().to_numpy() - frame["y"].mean()) ** 2).sum() / (k - 1)
        ms_within = ((frame["y"] - groups.transform("mean")) ** 2).sum() / (big_n - k)
        n_bar = (big_n - (n_j**2).sum() / big_n) / (k - 1)
        icc1 = (ms_between - ms_within) / (ms_between + (n_bar - 1) * ms_within)
        assert 0.04 <= icc1 <= 0.18, (scale.key, icc1)
    assert np.isfinite(alpha)


@pytest.mark.parametrize(
    "today", [date(2026, 1, 2), date(2028, 2, 29), date(2027, 7, 15), date(2030, 12, 31)]
)
def test_the_demo_waves_are_dated_around_any_day_it_is_run(today: date) -> None:
    from app.demo import demo_calendar

    before, current = demo_calendar(today)
    noon = datetime.combine(today, datetime.min.time(), UTC).replace(hour=12)
    assert current.opens_at < noon < current.closes_at
    assert before.closes_at < current.opens_at
    assert before.year == current.year - 1
    assert before.opens_at < before.closes_at


def test_an_old_demo_database_gets_its_open_wave_extended(tmp_path: Path) -> None:
    """A demo seeded long ago and started again still shows an open wave with working links."""
    instance = tmp_path / "instance"
    _run_demo(instance)
    db = sqlite3.connect(instance / "survey.sqlite3")
    db.execute("UPDATE waves SET closes_at = '2020-01-01 00:00:00.000000' WHERE status = 'open'")
    db.commit()
    _run_demo(instance)
    closes = [
        datetime.fromisoformat(c).replace(tzinfo=UTC)
        for (c,) in db.execute("SELECT closes_at FROM waves WHERE status = 'open'")
    ]
    db.close()
    assert len(closes) == 6
    assert all(c > datetime.now(UTC) + timedelta(days=7) for c in closes)


def test_no_stored_row_combines_a_unit_with_a_background_answer_or_language(
    seeded: dict,
) -> None:
    """The issue's attack: 45% of the 2025 responses were unique in their team by role and
    tenure. Now no table holding a unit holds a background answer or a language (the staff list
    and the invitations made from it keep the email language, and no answer)."""
    db = seeded["db"]
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    words = {"background", "role", "tenure", "language", "lang"}
    for table in tables:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        if "unit_id" not in columns or table in ("roster_entries", "invitations"):
            continue
        assert not words & {part for c in columns for part in c.split("_")}, (table, columns)
    # Background answers were recorded, as counters per wave: every answer set counted once.
    per_wave = dict(
        db.execute(
            "SELECT wave_id, sum(count) FROM background_counts WHERE question = 'role' "
            "GROUP BY wave_id"
        ).fetchall()
    )
    responses = dict(db.execute("SELECT wave_id, count(*) FROM responses GROUP BY wave_id"))
    assert per_wave == responses


def test_per_language_sums_exist_only_for_languages_with_enough_respondents(seeded: dict) -> None:
    db = seeded["db"]
    rows = db.execute(
        "SELECT s.wave_id, s.language, max(s.n), w.min_report_n FROM language_item_sums s "
        "JOIN waves w ON w.id = s.wave_id GROUP BY s.wave_id, s.language"
    ).fetchall()
    assert {language for _, language, _, _ in rows} == {"en", "es"}
    for _wave, _language, largest_n, min_n in rows:
        assert largest_n >= min_n


def test_every_file_the_demo_made_is_owner_only(seeded: dict) -> None:
    import stat

    instance: Path = seeded["instance"]
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    made = list(instance.rglob("*"))
    assert {"survey.sqlite3", "secret_key", "demo-password"} <= {p.name for p in made}
    for path in made:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path.name, oct(mode))


def test_the_coordinator_sees_the_national_home_and_a_report_from_the_demo_contributions(
    seeded: dict,
) -> None:
    connection = seeded["db"]
    assert isinstance(connection, sqlite3.Connection)
    received = connection.execute(
        "SELECT jurisdiction_slug, level FROM received_contributions ORDER BY jurisdiction_slug"
    ).fetchall()
    assert received == [
        ("alder", "psychometric"),
        ("birch-valley", "psychometric"),
        ("cedar", "research_extract"),
        ("dogwood", "psychometric"),
        ("elm-river", "benchmark"),
        ("fir-coast", "benchmark"),
    ]
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL"}}
    env["INSTANCE_PATH"] = str(seeded["instance"])
    script = (
        "from app import create_app\n"
        "from app.db import get_session\n"
        "from app.models import User\n"
        "from app.services import national_report\n"
        "from sqlalchemy import select\n"
        "app = create_app(demo=True)\n"
        "with app.app_context():\n"
        "    s = get_session()\n"
        "    user = s.scalars(select(User).where(User.email == 'national@demo.example')).one()\n"
        "    home = national_report.national_home(s, user)\n"
        "    report = national_report.build_national_report(s, user)\n"
        "    print(home.benchmarks.sources.jurisdictions)\n"
        "    print(home.received, home.psychometric, len(report.cfa), repr(report.empty_reason))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    sources, received_count, psychometric, fits, empty = result.stdout.split()[-5:]
    assert sources == "6"  # the coordinator's benchmarks: every sharing jurisdiction
    assert (received_count, psychometric, empty) == ("6", "4", "''")
    assert int(fits) >= 1  # at least the nation's CFA
