"""Take the README's page images: the demo, seeded into a throwaway folder, in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/images]

Seeds the same data as ``make demo`` into a temporary instance folder (its own SQLite file and
keys; the real ``instance/`` is never touched), serves the app on a free loopback port, signs
in as the demo leader and saves PNGs of the results home and of a team's results page.
Needs Debian's Chromium (``make system-deps``); Playwright only drives it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"error: {CHROMIUM} is missing (make system-deps)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="screenshots-") as folder:
        os.environ["INSTANCE_PATH"] = str(Path(folder) / "instance")
        os.environ.pop("DATABASE_URL", None)
        base, stop, password, leader, team_page = _serve_demo()
        try:
            _shoot(base, leader, password, team_page, args.out)
        finally:
            stop()
    return 0


def _serve_demo() -> tuple[str, Callable[[], None], str, str, str]:
    sys.path.insert(0, str(ROOT))
    from werkzeug.serving import make_server

    from app import create_app, demo, keys, migrate
    from app.db import get_database, get_session

    app = create_app(demo=True, role="demo")
    with app.app_context():
        migrate.upgrade(
            get_database(app).engine, settings={**app.config, "INSTANCE_PATH": app.instance_path}
        )
        session = get_session()
        info = demo.seed(
            session, keys.mailer_keyring(app), app.config["PUBLIC_URL"], Path(app.instance_path)
        )
        team_path = _plan_for_a_team(session)
        session.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()

    base = f"http://127.0.0.1:{server.server_port}"
    return base, stop, info.password, demo.LEADER_LOGIN, team_path


#: The team whose page the README shows, with the plan its leader recorded last year.
TEAM = "Region 1 / East Office / Team A"


def _plan_for_a_team(session: Any) -> str:
    """Record last year's plan of :data:`TEAM` (the demo has none); this year's page's path."""
    from datetime import date

    from sqlalchemy import select

    from app import demo
    from app.models import OrgUnit, User, Wave
    from app.services import plans

    leader = session.scalars(select(User).where(User.email == demo.LEADER_LOGIN)).one()
    waves = session.scalars(
        select(Wave).where(Wave.jurisdiction_id == leader.jurisdiction_id).order_by(Wave.year)
    ).all()
    before, now = waves[-2], waves[-1]
    team = session.scalars(
        select(OrgUnit).where(
            OrgUnit.jurisdiction_id == leader.jurisdiction_id, OrgUnit.path == TEAM
        )
    ).one()
    if plans.get_plan(session, leader, before.id, team.id).focus_areas == ():
        action = plans.ActionInput
        plans.save_plan(
            session,
            leader,
            before.id,
            team.id,
            [
                plans.FocusInput(
                    "supervisor_safety_climate",
                    (
                        action(
                            "Supervisor joins one field visit a month",
                            "supervisor",
                            date(before.year + 1, 3, 31),
                            "done",
                        ),
                        action(
                            "Debrief every critical incident within a week",
                            "team lead",
                            date(before.year + 1, 6, 30),
                            "under_way",
                        ),
                    ),
                ),
                plans.FocusInput(
                    "psychological_safety",
                    (
                        action(
                            "Start team meetings with a near-miss story", "whole team", None, "done"
                        ),
                    ),
                ),
            ],
        )
    return f"/reports/{now.id}/{team.id}"


def _shoot(base: str, leader: str, password: str, team_page: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
        page.goto(f"{base}/login")
        page.fill("input[name=email]", leader)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/reports")
        page.screenshot(path=str(out / "leader-home.png"), full_page=True)
        print(out / "leader-home.png")
        page.goto(f"{base}{team_page}")
        page.wait_for_selector(".report-page .previous-plan")
        # From the top to the end of last year's plan: the cover, summary, trend and the plan.
        plan = page.locator(".report-page .previous-plan").bounding_box()
        assert plan is not None
        height = plan["y"] + plan["height"] + 24
        page.screenshot(
            path=str(out / "leader-team-results.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": height},
        )
        print(out / "leader-team-results.png")
        browser.close()


if __name__ == "__main__":
    raise SystemExit(main())
