"""A burst of submits that each find a team's pool ready queues the mixer once, not per submit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from huey.storage import MemoryStorage
from sqlalchemy import Engine

from app import tasks
from tests.conftest import make_test_app


@pytest.fixture
def queued(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app with a real (in-memory) queue instead of the tests' immediate mode."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_test_app(engine, tmp_path)
    monkeypatch.setattr(tasks.huey, "immediate", False)
    monkeypatch.setattr(tasks.huey, "storage", MemoryStorage("test"))
    yield app


def test_one_mixer_job_per_wave_for_a_burst(queued: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    assert [tasks.request_mix(queued, 7) for _ in range(50)].count(True) == 1
    assert tasks.huey.pending_count() == 1
    assert tasks.request_mix(queued, 8)  # another wave has its own
    assert tasks.huey.pending_count() == 2
    later = time.monotonic() + tasks.MIX_REQUEST_SECONDS + 0.1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert tasks.request_mix(queued, 7)  # a few seconds on, the pool may be ready again
    assert tasks.huey.pending_count() == 3
