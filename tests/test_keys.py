"""The mix and mailer key pairs: generation, checks at start, rotation, the wrong key, who holds it.

Driven as an operator would: ``flask --app wsgi keys …`` and ``worker`` in subprocesses, the
survey through the test client, then the raw rows.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import get_database
from app.keys import FILES, generate_files
from app.models import PendingResponse, Response
from app.services import responses, sealing
from tests.conftest import TEST_SECRET, make_test_app
from tests.survey.helpers import complete_survey, seed_wave

ROOT = Path(__file__).resolve().parent.parent


def _flask(
    args: list[str], env_extra: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DATABASE_URL"} and not k.endswith("_KEY_FILE")
    }
    env.update(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
        **env_extra,
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings(directory: Path) -> dict[str, str]:
    return {setting: str(directory / name) for setting, name in FILES.values()}


def test_keys_generate_writes_four_owner_only_files_and_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    result = _flask(["keys", "generate", "--dir", str(folder)], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["mailer.key", "mailer.pub", "mix.key", "mix.pub"]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert str(path) in result.stdout
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    before = (folder / "mix.key").read_bytes()
    again = _flask(["keys", "generate", "--dir", str(folder)], {}, tmp_path)
    assert again.returncode == 1
    assert len(again.stderr.strip().splitlines()) == 1
    assert (folder / "mix.key").read_bytes() == before


@pytest.mark.parametrize("setting", ["MIX_PUBLIC_KEY_FILE", "MAILER_PUBLIC_KEY_FILE"])
@pytest.mark.parametrize("fault", ["missing", "unreadable", "wrong type", "not a key"])
def test_a_bad_public_key_file_stops_every_process_with_one_line(
    tmp_path: Path, setting: str, fault: str
) -> None:
    folder = tmp_path / "keys"
    generate_files(folder)
    env = _settings(folder)
    if fault == "missing":
        env[setting] = str(tmp_path / "nowhere.pub")
    elif fault == "unreadable":
        env[setting] = str(folder)  # a folder: reading it fails even for root
    elif fault == "wrong type":
        env[setting] = env["MIX_PRIVATE_KEY_FILE"]  # a private key where a public one belongs
    else:
        (tmp_path / "junk.pub").write_text("hello\n")
        env[setting] = str(tmp_path / "junk.pub")
    result = _flask(["waves", "list"], env, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {setting}: "), lines[0]


@pytest.mark.parametrize("setting", ["MIX_PRIVATE_KEY_FILE", "MAILER_PRIVATE_KEY_FILE"])
@pytest.mark.parametrize("fault", ["missing", "wrong type", "other pair"])
def test_the_worker_refuses_to_start_with_a_bad_private_key(
    tmp_path: Path, setting: str, fault: str
) -> None:
    folder, other = tmp_path / "keys", tmp_path / "other"
    generate_files(folder)
    generate_files(other)
    env = _settings(folder)
    kind = "mix" if setting.startswith("MIX") else "mailer"
    if fault == "missing":
        env[setting] = str(tmp_path / "nowhere.key")
    elif fault == "wrong type":
        env[setting] = str(folder / ("mailer.key" if kind == "mix" else "mix.key"))
    else:
        env[setting] = str(other / f"{kind}.key")  # a private key of another pair
    result = _flask(["worker"], env, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {setting}: "), lines[0]
    if fault == "other pair":
        assert "not one pair" in lines[0]


def _app_with_keys(
    engine: object, session_factory: sessionmaker[Session], tmp_path: Path, folder: Path
) -> Flask:
    app = make_test_app(engine, tmp_path, **_settings(folder))  # type: ignore[arg-type]
    get_database(app).sessions = session_factory
    return app


def _pool(session: Session) -> tuple[int, int]:
    pending = session.scalar(select(func.count()).select_from(PendingResponse))
    stored = session.scalar(select(func.count()).select_from(Response))
    return int(pending or 0), int(stored or 0)


def test_a_mixer_with_the_wrong_key_stops_with_a_clear_message_and_moves_nothing(
    engine: object, session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "keys"
    generate_files(folder)
    app = _app_with_keys(engine, session_factory, tmp_path, folder)
    seeded = seed_wave(session, invitations=3, pool_k=10)
    for token in seeded.tokens:
        complete_survey(app.test_client(), token, answers={"ps1": 4})
    assert _pool(session) == (3, 0)
    stranger = sealing.Keyring("mix", (sealing.generate("mix")[0],))
    with pytest.raises(responses.MixKeyMismatch, match="nothing was moved") as caught:
        responses.move_pool(session, seeded.wave_id, flush_all=True, keys=stranger)
    assert "MIX_PRIVATE_KEY_FILE" in str(caught.value)
    assert _pool(session) == (3, 0)
    right = sealing.read_keyring("MIX_PRIVATE_KEY_FILE", folder / "mix.key", "mix")
    assert responses.move_pool(session, seeded.wave_id, flush_all=True, keys=right) == 3
    assert _pool(session) == (0, 3)


def test_rotating_keeps_what_waits_under_the_old_key_openable(
    engine: object, session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "keys"
    generate_files(folder)
    seeded = seed_wave(session, invitations=4, pool_k=10)
    before = _app_with_keys(engine, session_factory, tmp_path, folder)
    for token in seeded.tokens[:2]:
        complete_survey(before.test_client(), token, answers={"ps1": 2})
    old_public = (folder / "mix.pub").read_text()
    result = _flask(["keys", "rotate", "--dir", str(folder)], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (folder / "mix.pub").read_text() != old_public
    assert stat.S_IMODE((folder / "mix.key").stat().st_mode) == 0o600
    after = _app_with_keys(engine, session_factory, tmp_path / "after", folder)
    for token in seeded.tokens[2:]:
        complete_survey(after.test_client(), token, answers={"ps1": 5})
    prefixes = {bytes(blob[:8]) for blob in session.scalars(select(PendingResponse.ciphertext))}
    assert len(prefixes) == 2  # two entries under each key
    rotated = sealing.read_keyring("MIX_PRIVATE_KEY_FILE", folder / "mix.key", "mix")
    assert responses.move_pool(session, seeded.wave_id, flush_all=True, keys=rotated) == 4
    answers = sorted(r.answers["ps1"] for r in session.scalars(select(Response)))
    assert answers == [2, 2, 5, 5]


def test_a_web_process_that_can_read_the_mix_key_warns_and_tells_staff(
    engine: object,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    folder = tmp_path / "keys"
    generate_files(folder)
    with caplog.at_level(logging.WARNING, logger="app.keys"):
        holding = _app_with_keys(engine, session_factory, tmp_path, folder)
    assert any("mix private key" in r.getMessage() for r in caplog.records)
    page = holding.test_client().get("/privacy").get_data(as_text=True)
    assert "can also read the mix private key" in page

    caplog.clear()
    web_only = tmp_path / "web-only"
    web_only.mkdir()
    for name in ("mix.pub", "mailer.pub"):
        shutil.copy(folder / name, web_only / name)
    settings = {
        "MIX_PUBLIC_KEY_FILE": str(web_only / "mix.pub"),
        "MAILER_PUBLIC_KEY_FILE": str(web_only / "mailer.pub"),
        "MIX_PRIVATE_KEY_FILE": None,
        "MAILER_PRIVATE_KEY_FILE": None,
    }
    with caplog.at_level(logging.WARNING, logger="app.keys"):
        app = make_test_app(engine, tmp_path / "web", **settings)  # type: ignore[arg-type]
    assert not any("mix private key" in r.getMessage() for r in caplog.records)
    page = app.test_client().get("/privacy").get_data(as_text=True)
    assert "can also read the mix private key" not in page


def test_the_demo_generates_every_key_owner_only_and_its_privacy_page_says_it_holds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import create_app

    instance = tmp_path / "instance"
    monkeypatch.setenv("INSTANCE_PATH", str(instance))
    for setting, _ in FILES.values():
        monkeypatch.delenv(setting, raising=False)
    app = create_app(
        {"SECRET_KEY": TEST_SECRET, "DATABASE_URL": f"sqlite:///{tmp_path / 'd.sqlite3'}"},
        demo=True,
        role="demo",
    )
    folder = instance / "keys"
    assert sorted(p.name for p in folder.iterdir()) == [
        "mailer.key",
        "mailer.pub",
        "mix.key",
        "mix.pub",
    ]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    page = app.test_client().get("/privacy").get_data(as_text=True)
    assert "can also read the mix private key" in page
    assert "this is the demo, where one process serves the pages" in page
