"""The restore drill: back up mid-wave (answers in the shuffle pool, drafts open), restore into a
new database with the real command line, and carry on there as if nothing happened."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app import migrate
from app.db import make_engine
from app.migrate import upgrade
from app.models import Draft, PendingResponse, Response
from app.services import reports, waves
from tests.conftest import TEST_KEYS, TEST_SECRET, make_test_app
from tests.survey.helpers import (
    PAGES,
    arrive,
    complete_survey,
    distinct_answers,
    page_csrf,
    seed_wave,
)

from .conftest import _REASON as NO_OWN_SERVERS
from .servers import PgCluster
from .walk import decode

ROOT = Path(__file__).resolve().parents[2]
SUBMITTED_BEFORE, DRAFTS, LATER = 6, 3, 3  # 6 pooled (< POOL_K 10), 3 drafts, 3 new after


def _flask(args: list[str], database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    instance = tmp_path / "instance-cli"
    instance.mkdir(mode=0o700, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance),
        **TEST_KEYS.settings(),
    }
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The original database (migrated) and an empty new one to restore into."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'original.sqlite3'}", f"sqlite:///{tmp_path / 'new.sqlite3'}"
        return
    if NO_OWN_SERVERS:
        pytest.skip(NO_OWN_SERVERS)
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    suffix = uuid.uuid4().hex[:8]
    yield (
        cluster.create_database(f"original_{suffix}"),
        cluster.create_database(f"restored_{suffix}"),
    )


def _save_three_pages(client: FlaskClient, token: str, index: int) -> None:
    arrive(client, token)
    answers = distinct_answers(index)
    for number in range(1, 4):
        csrf = page_csrf(client, number)
        scale_keys = [k for k in answers if k in _scale_keys(number)]
        data = {k: str(answers[k]) for k in scale_keys}
        saved = client.post(f"/s/page/{number}", data={**data, "csrf_token": csrf, "nav": "next"})
        assert saved.status_code == 303


def _scale_keys(number: int) -> tuple[str, ...]:
    from tests.survey.helpers import INSTRUMENT

    return INSTRUMENT.scales[number - 1].item_keys


def _carry_on(engine: Engine, tmp_path: Path, tokens: list[str], wave_id: int) -> str:
    """Finish the drafts, add later answers, close the wave; return the report's text."""
    app = make_test_app(engine, tmp_path)
    drafted = tokens[SUBMITTED_BEFORE : SUBMITTED_BEFORE + DRAFTS]
    for offset, token in enumerate(drafted):
        index = SUBMITTED_BEFORE + offset
        client = app.test_client()
        arrive(client, token)
        resumed = client.get("/s/")
        assert resumed.status_code == 302
        assert resumed.headers["Location"].endswith("/s/page/4"), "the draft did not resume"
        answers = distinct_answers(index)
        for number in range(4, PAGES):
            csrf = page_csrf(client, number)
            data = {k: str(answers[k]) for k in _scale_keys(number)}
            saved = client.post(
                f"/s/page/{number}", data={**data, "csrf_token": csrf, "nav": "next"}
            )
            assert saved.status_code == 303
        csrf = page_csrf(client, PAGES)
        done = client.post(f"/s/page/{PAGES}", data={"csrf_token": csrf, "nav": "submit"})
        assert done.status_code == 303
    for offset, token in enumerate(tokens[SUBMITTED_BEFORE + DRAFTS :]):
        index = SUBMITTED_BEFORE + DRAFTS + offset
        complete_survey(app.test_client(), token, answers=distinct_answers(index))
    with Session(engine) as session:
        waves.close_wave(session, None, wave_id)
        waves.finish_close(session, wave_id, mix_keys=TEST_KEYS.mix)
        assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0
        assert session.scalar(select(func.count()).select_from(Draft)) == 0
        stored = sorted(decode(a) for a in session.scalars(select(Response.answers)))
        assert stored == list(range(SUBMITTED_BEFORE + DRAFTS + LATER))
        unit_id = session.scalar(select(Response.unit_id).limit(1))
        assert unit_id is not None
        reports.clear_cache()
        pdf = reports.render_unit_report(session, wave_id, unit_id)
    reports.clear_cache()
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return text.replace(date.today().isoformat(), "<today>")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_restored_mid_wave_backup_carries_on_to_the_same_report(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    original_url, new_url = two_databases
    original = make_engine(original_url)
    upgrade(original)
    with Session(original) as session:
        seeded = seed_wave(session, invitations=12, units=1, pool_k=10)
    app = make_test_app(original, tmp_path)
    for index, token in enumerate(seeded.tokens[:SUBMITTED_BEFORE]):
        complete_survey(app.test_client(), token, answers=distinct_answers(index))
    for offset, token in enumerate(seeded.tokens[SUBMITTED_BEFORE : SUBMITTED_BEFORE + DRAFTS]):
        _save_three_pages(app.test_client(), token, SUBMITTED_BEFORE + offset)
    with Session(original) as session:
        assert session.scalar(select(func.count()).select_from(PendingResponse)) == 6
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        assert session.scalar(select(func.count()).select_from(Draft)) == DRAFTS

    backup_file = tmp_path / "mid-wave.backup"
    created = _flask(["backup", "create", "--out", str(backup_file)], original_url, tmp_path)
    assert created.returncode == 0, created.stderr
    assert backup_file.stat().st_mode & 0o077 == 0, "the backup is readable by others"

    restored = _flask(["backup", "restore", str(backup_file)], new_url, tmp_path)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    new = make_engine(new_url)
    assert migrate.current_revisions(new) == migrate.script_heads()
    report_new = _carry_on(new, tmp_path / "new", seeded.tokens, seeded.wave_id)
    report_original = _carry_on(original, tmp_path / "orig", seeded.tokens, seeded.wave_id)
    assert "Psychological Safety" in report_original
    assert report_new == report_original
    new.dispose()
    original.dispose()


def test_backup_commands_refuse_what_would_lose_data(tmp_path: Path) -> None:
    from app.ops import backup

    source = make_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    upgrade(source)
    out = tmp_path / "a.backup"
    assert backup.create(source, out) == "sqlite"
    with pytest.raises(backup.BackupError, match="exists already"):
        backup.create(source, out)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(source, out)
    target = make_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    with pytest.raises(backup.BackupError, match="not a backup this command wrote"):
        backup.restore(target, not_a_backup)
    postgres = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(backup.BackupError, match="is sqlite; DATABASE_URL is a postgresql"):
        backup.restore(postgres, out)
    assert backup.restore(target, out) == "sqlite"
    assert migrate.current_revisions(target) == migrate.script_heads()
    for engine in (source, target, postgres):
        engine.dispose()
