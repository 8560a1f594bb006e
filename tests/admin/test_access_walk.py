"""Every route, as every role: a route that forgets its scope check fails here.

The table below says which roles may use each endpoint. Walking ``app.url_map`` makes a new
route without an entry fail too, so nobody can add a page without deciding who may see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import Rule

from app.db import get_database
from app.models import AuditEvent, Jurisdiction, OrgUnit, Role, RosterEntry, User
from app.services import report_batches, roster, waves
from tests.conftest import make_test_app

from .conftest import login, make_jurisdiction, make_user, standard_roster

ROLES = ("anonymous", "national", "admin", "other_admin", "leader", "other_leader")
ANY_SIGNED_IN = {"national", "admin", "other_admin", "leader", "other_leader"}
ADMINS = {"admin", "other_admin"}

#: endpoint → roles that may use it, with the objects of the first jurisdiction ("lake") in the
#: URL. "other_admin" and "other_leader" belong to a second jurisdiction.
ALLOWED: dict[str, set[str]] = {
    "auth.home": ANY_SIGNED_IN,  # anonymous visitors are sent to the sign-in page
    "auth.login": set(ROLES),
    "auth.logout": ANY_SIGNED_IN,
    "auth.password": ANY_SIGNED_IN,
    "auth.account": ANY_SIGNED_IN,
    # Account links: public by design (the signed link is the credential; tested on their own).
    "auth.request_reset": set(ROLES),
    "auth.reset_password": set(ROLES),
    "auth.accept_invitation": set(ROLES),
    "admin.home": ANY_SIGNED_IN,
    "admin.jurisdictions": {"national"},
    "admin.users": {"national", *ADMINS},
    "admin.user_active": {"national", "admin"},
    "admin.user_password_link": {"national", "admin"},
    "admin.roster": ADMINS,
    "admin.roster_confirm": ADMINS,
    "admin.roster_cancel": ADMINS,
    "admin.staff": ADMINS,
    "admin.emails": ADMINS,
    "admin.emails_test": ADMINS,
    "admin.staff_add": ADMINS,
    # The entry belongs to the first jurisdiction: the other one's administrator is refused.
    "admin.staff_move": {"admin"},
    "admin.staff_active": {"admin"},
    "admin.waves": {"national", *ADMINS},
    "admin.wave_new": ADMINS,
    "admin.wave": {"admin"},
    "admin.wave_launch": {"admin"},
    "admin.wave_remind": {"admin"},
    "admin.wave_retry": {"admin"},
    "admin.wave_close": {"admin"},
    "admin.wave_edit": {"admin"},
    # All of a wave's reports: only its own jurisdiction's administrators (national sees other
    # jurisdictions as benchmarks only).
    "admin.wave_reports_zip": {"admin"},
    "admin.report_batch": {"admin"},
    "admin.report_batch_download": {"admin"},
    "admin.audit": {"national", *ADMINS},
    # Data sharing: national sees every level; only a wave's own administrators change it or
    # see, download and approve what would leave.
    "admin.sharing": {"national", *ADMINS},
    "admin.sharing_set": {"admin"},
    "admin.contribution": {"admin"},
    "admin.contribution_json": {"admin"},
    "admin.contribution_approve": {"admin"},
    # The national home and psychometric report: the national office only; a jurisdiction's
    # administrators read the report about their own jurisdiction (/national/self).
    "national.home": {"national"},
    "national.report": {"national"},
    "national.report_pdf": {"national"},
    "national.self": ADMINS,
    "national.self_pdf": ADMINS,
    "reports.index": ANY_SIGNED_IN,
    "plans.index": ANY_SIGNED_IN,
    # A unit's plan: out of scope (and a unit without results) answers 404, like a report.
    "plans.plan": {"admin", "leader"},
    "plans.summary": {"admin", "leader"},
    # Out of scope answers 404 there (not 403): "not yours" and "unknown" look the same.
    "reports.download": {"admin", "leader"},
    # A report's figures: the PDF's rule (404 out of scope, audited; see tests/exports/).
    "exports.report_csv": {"admin", "leader"},
    "exports.report_xlsx": {"admin", "leader"},
    # Research extracts: the page for a jurisdiction's administrators; the download for its data
    # stewards only (this walk's administrator is not one: tests/exports/ covers a steward).
    "exports.extracts": ADMINS,
    "exports.extract_download": {"admin"},
    # Only another administrator of the account's own jurisdiction (the walk posts no choice:
    # the administrator gets the form's message, everyone else 403 and nothing recorded).
    "exports.steward": {"admin"},
    # A unit's results page: the same rule as its PDF.
    "reports.unit": {"admin", "leader"},
}
#: Public by design: the survey (a personal link is the credential), static files, and the
#: probes /healthz and /readyz (a load balancer has no login; they say nothing but ready or not).
PUBLIC_BLUEPRINTS = {"survey", "ops"}
NOT_FOUND_MEANS_DENIED = {
    "reports.download",
    "reports.unit",
    "plans.plan",
    "exports.report_csv",
    "exports.report_xlsx",
    "exports.extract_download",
}


@dataclass
class World:
    app: Flask
    users: dict[str, User]
    args: dict[str, int]


@pytest.fixture
def world(engine, session_factory: sessionmaker[Session], session: Session, tmp_path) -> World:  # type: ignore[no-untyped-def]
    lake = make_jurisdiction(session, "lake", "Lake County")
    other = make_jurisdiction(session, "hill", "Hill County")
    roster.import_roster(session, None, lake.id, standard_roster())
    roster.import_roster(session, None, other.id, standard_roster())
    team = "Region 1 / Office A / Team 1"
    people = {
        "national": make_user(session, "nat@x.org", Role.NATIONAL),
        "admin": make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake),
        "other_admin": make_user(session, "admin@hill.org", Role.JURISDICTION_ADMIN, other),
        "leader": make_user(session, "lead@lake.org", Role.LEADER, lake, (team,)),
        "other_leader": make_user(session, "lead@hill.org", Role.LEADER, other, (team,)),
    }
    wave = waves.create_wave(
        session,
        None,
        jurisdiction_id=lake.id,
        year=2026,
        instrument_key="team-safety-culture",
        opens=date.today(),
        closes=date.today() + timedelta(days=20),
    )
    unit_id = session.scalars(
        select(OrgUnit.id).where(OrgUnit.jurisdiction_id == lake.id, OrgUnit.path == team)
    ).one()
    target = make_user(session, "target@lake.org", Role.LEADER, lake, (team,))
    batch = report_batches.request_batch(session, people["admin"], wave.id)
    app = make_test_app(engine, tmp_path, WTF_CSRF_ENABLED=False)
    get_database(app).sessions = session_factory
    entry_id = session.scalars(
        select(RosterEntry.id).where(RosterEntry.jurisdiction_id == lake.id).limit(1)
    ).one()
    args = {
        "wave_id": wave.id,
        "unit_id": unit_id,
        "user_id": target.id,
        "batch_id": batch.id,
        "entry_id": entry_id,
    }
    return World(app, people, args)


def _url(rule: Rule, args: dict[str, int]) -> str:
    values = {name: args.get(name, 1) for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def _client(world: World, role: str) -> FlaskClient:
    client = world.app.test_client()
    if role != "anonymous":
        login(client, world.users[role].email)
    return client


def _denied(response_status: int, location: str, role: str, endpoint: str) -> bool:
    if role == "anonymous":
        return response_status in (302, 401) and "/login" in location
    if endpoint in NOT_FOUND_MEANS_DENIED:
        return response_status == 404
    return response_status == 403


def test_every_route_checks_scope_for_every_role(world: World, session: Session) -> None:
    rules = [r for r in world.app.url_map.iter_rules() if r.endpoint != "static"]
    rules = [r for r in rules if r.endpoint.split(".")[0] not in PUBLIC_BLUEPRINTS]
    rules = [r for r in rules if not r.endpoint.endswith(".static")]
    unknown = sorted({r.endpoint for r in rules} - set(ALLOWED))
    assert unknown == [], f"routes without an access rule in this test: {unknown}"
    clients = {role: _client(world, role) for role in ROLES}
    failures = []
    # Denied attempts first: they must change nothing, whatever the allowed ones do later.
    for allowed_pass in (False, True):
        for rule in sorted(rules, key=lambda r: r.endpoint):
            url = _url(rule, world.args)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                for role in ROLES:
                    if (role in ALLOWED[rule.endpoint]) != allowed_pass:
                        continue
                    if allowed_pass and rule.endpoint in NOT_FOUND_MEANS_DENIED:
                        continue  # allowed but no report yet is a 404 too: see its own tests
                    if rule.endpoint == "auth.logout" or (
                        rule.endpoint == "auth.login" and method == "POST"
                    ):
                        continue  # signing out or in would end the walk's sessions
                    before = session.scalar(select(func.count()).select_from(AuditEvent))
                    response = clients[role].open(url, method=method, data={})
                    denied = _denied(
                        response.status_code,
                        response.headers.get("Location", ""),
                        role,
                        rule.endpoint,
                    )
                    if denied == allowed_pass:
                        failures.append(f"{method} {url} as {role}: {response.status_code}")
                    if not allowed_pass and method == "POST":
                        after = session.scalar(select(func.count()).select_from(AuditEvent))
                        if after != before:
                            failures.append(f"{method} {url} as {role} changed something")
    assert failures == []


def test_every_post_route_refuses_a_request_without_csrf_token(
    app: Flask, session: Session, lake_with_roster: Jurisdiction
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake_with_roster)
    client = app.test_client()
    login(client, admin.email)
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()):
            continue
        url = _url(rule, {"wave_id": 1, "unit_id": 1, "user_id": admin.id})
        response = client.post(url, data={})
        assert response.status_code == 400, (
            f"POST {url} without a CSRF token: {response.status_code}"
        )
