"""Browser tests: the app on a live Werkzeug server over a fresh SQLite file, in headless Chromium.

Chromium is Debian's (/usr/bin/chromium, `make system-deps`); Playwright only drives it, so no
browser is ever downloaded. axe-core comes from the npm registry (`make test` puts it in
.venv/node).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import upgrade
from app.models import WaveStatus
from tests.conftest import make_test_app
from tests.survey.helpers import Seeded, live_server, seed_wave

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: axe-core from the npm registry, installed by `make test` (Makefile target `axe`), not vendored.
AXE = Path(__file__).resolve().parents[2] / ".venv/node/node_modules/axe-core/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (make system-deps)"
)


@dataclass
class Site:
    base: str
    app: Flask
    engine: Engine
    open_wave: Seeded
    closed_wave: Seeded


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("e2e")
    engine = make_engine(f"sqlite:///{tmp_path / 'e2e.sqlite3'}")
    upgrade(engine)
    with Session(engine) as session:
        open_wave = seed_wave(session, invitations=12)
        closed_wave = seed_wave(session, invitations=2, status=WaveStatus.CLOSED)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
        app = make_test_app(engine, tmp_path)
    with live_server(app) as base:
        yield Site(base, app, engine, open_wave, closed_wave)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make system-deps)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-US")
    context.add_init_script(path=str(AXE))  # not an inline script: CSP stays in force
    yield context
    context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the current page."""
    # After a click that posts a form and follows the 303, the URL can already be the next
    # page's while its document is still being replaced: axe would then run on no document.
    page.wait_for_load_state("load")
    result: dict[str, Any] = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_TAGS,
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
    ]
