"""Action plans as a leader records them: focus areas, actions by role, the roll-up, next year."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ActionPlan, AuditEvent, PlanAction, Wave
from app.services import plans

from .conftest import SmallJurisdiction, login, make_leader


def _form(client: FlaskClient, url: str) -> dict[str, str]:
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, page[:500]
    return {"csrf_token": token.group(1)}


def _plan_data(**slots: str) -> dict[str, str]:
    """Form fields by short names: f0 → focus-0-scale, f0a1 → focus-0-actions-1-text, ..."""
    data = {}
    for name, value in slots.items():
        match = re.fullmatch(r"f(\d)(?:a(\d)(owner|target|status)?)?", name)
        assert match, name
        focus, action, part = match.groups()
        if action is None:
            data[f"focus-{focus}-scale"] = value
        else:
            field = {None: "text", "owner": "owner", "target": "target", "status": "status"}[part]
            data[f"focus-{focus}-actions-{action}-{field}"] = value
    return data


def test_a_leader_records_a_plan_and_sees_it_again(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead@lake.org", "Office B")
    client = app.test_client()
    login(client, "lead@lake.org")
    wave, unit = small.waves[2026], small.units["Office B / Team 1"]
    url = f"/plans/{wave}/{unit}"
    listing = client.get("/plans").get_data(as_text=True)
    assert url in listing and "Record a plan" in listing
    data = _form(client, url) | _plan_data(
        f0="psychological_safety",
        f0a0="Start each team meeting with one near miss, no blame",
        f0a0owner="supervisor",
        f0a0target="2027-03-31",
        f0a0status="under_way",
        f0a1="Rotate who runs the case review",
        f0a1owner="the whole team",
        f1="field_safety",
        f1a0="Two workers on every evening visit",
        f1a0owner="office manager",
        f1a0status="done",
    )
    saved = client.post(url, data=data)
    assert saved.status_code == 302, re.findall(
        r'class="(?:flash )?error"[^>]*>([^<]+)', saved.get_data(as_text=True)
    )
    view = plans.get_plan(session, None, wave, unit)
    assert [f.scale_key for f in view.focus_areas] == ["psychological_safety", "field_safety"]
    assert view.actions_total == 3 and view.actions_done == 1
    assert view.focus_areas[0].actions[0].owner_role == "supervisor"
    page = client.get(url).get_data(as_text=True)
    assert "Start each team meeting with one near miss" in page
    assert 'value="2027-03-31"' in page
    assert "plan.save" in session.scalars(select(AuditEvent.action)).all()
    # Saving again replaces the plan rather than adding to it.
    client.post(
        url,
        data=_form(client, url)
        | _plan_data(f0="safety_organizing", f0a0="Weekly huddle", f0a0owner="team lead"),
    )
    view = plans.get_plan(session, None, wave, unit)
    assert [f.scale_key for f in view.focus_areas] == ["safety_organizing"]
    assert session.scalar(select(func.count()).select_from(PlanAction)) == 1


def test_bad_plans_say_why_and_save_nothing(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead@lake.org", "Office B")
    client = app.test_client()
    login(client, "lead@lake.org")
    url = f"/plans/{small.waves[2026]}/{small.units['Office B / Team 2']}"
    for slots, words in (
        ({"f0": "not_a_scale", "f0a0": "x", "f0a0owner": "y"}, "not a scale of this survey"),
        ({"f0": "safety_organizing", "f1": "safety_organizing"}, "each scale at most once"),
        ({"f0": "safety_organizing", "f0a0owner": "supervisor"}, "say what the team will do"),
        ({"f0": "safety_organizing", "f0a0": "Huddle"}, "name the role"),
        (
            {"f0": "safety_organizing", "f0a0": "Huddle", "f0a0owner": "maria@lake.org"},
            "not an email",
        ),
        (
            {"f0": "safety_organizing", "f0a0": "x" * 501, "f0a0owner": "lead"},
            "Field cannot be longer",
        ),
        (
            {
                "f0": "safety_organizing",
                "f0a0": "Huddle",
                "f0a0owner": "lead",
                "f0a0target": "1999-01-01",
            },
            "a target date between",
        ),
        (
            {
                "f0": "safety_organizing",
                "f0a0": "Huddle",
                "f0a0owner": "lead",
                "f0a0target": "soon",
            },
            "Not a valid date",
        ),
        (
            {
                "f0": "safety_organizing",
                "f0a0": "Huddle",
                "f0a0owner": "lead",
                "f0a0status": "maybe",
            },
            "unknown status",
        ),
    ):
        response = client.post(url, data=_form(client, url) | _plan_data(**slots))
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and words in body, (
            slots,
            re.findall(r'class="(?:flash )?error"[^>]*>([^<]+)', body),
        )
    assert session.scalar(select(func.count()).select_from(ActionPlan)) == 0


def test_units_outside_the_scope_or_without_results_have_no_plan_page(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead@lake.org", "Office B")
    make_leader(session, small, "lead-a@lake.org", "Office A")
    client = app.test_client()
    login(client, "lead@lake.org")
    wave = small.waves[2026]
    foreign = f"/plans/{wave}/{small.units['Office A / Team 1']}"
    assert client.get(foreign).status_code == 404
    assert client.post(foreign, data=_form(client, "/plans")).status_code == 404
    other = app.test_client()
    login(other, "lead-a@lake.org")
    # Office A / Team 3 has 2 respondents in 2026: no results of its own, so no plan either.
    hidden = other.get(f"/plans/{wave}/{small.units['Office A / Team 3']}")
    assert hidden.status_code == 404 and "unit above" in hidden.get_data(as_text=True)
    assert f"/plans/{wave}/{small.units['Office A / Team 3']}" not in other.get("/plans").get_data(
        as_text=True
    )


def test_the_rollup_counts_focus_areas_over_the_readers_reach(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    wave = small.waves[2026]
    action = plans.ActionInput("Weekly huddle", "team lead", None, "done")
    later = plans.ActionInput("Ride-alongs", "supervisor", None, "planned")
    for path, focus in (
        ("Office B / Team 1", [plans.FocusInput("safety_organizing", (action, later))]),
        (
            "Office B / Team 2",
            [
                plans.FocusInput("safety_organizing", (action,)),
                plans.FocusInput("field_safety", ()),
            ],
        ),
        ("Office A / Team 1", [plans.FocusInput("field_safety", (later,))]),
    ):
        plans.save_plan(session, None, wave, small.units[path], focus)
    everything = plans.rollup(session, None, wave)
    assert everything.units_with_plans == 3
    counts = {s.scale_key: (s.units, s.actions, s.done) for s in everything.scales}
    assert counts == {"safety_organizing": (2, 3, 2), "field_safety": (2, 1, 0)}
    make_leader(session, small, "lead@lake.org", "Office B")
    client = app.test_client()
    login(client, "lead@lake.org")
    page = client.get(f"/plans/{wave}/summary").get_data(as_text=True)
    assert "2 units have recorded a plan" in page  # Office A's plan is outside this leader's reach


def test_last_years_plan_is_found_for_this_years_report(
    session: Session, small: SmallJurisdiction
) -> None:
    unit = small.units["Office B / Team 1"]
    plans.save_plan(
        session,
        None,
        small.waves[2025],
        unit,
        [
            plans.FocusInput(
                "safety_organizing", (plans.ActionInput("Huddle", "lead", None, "done"),)
            )
        ],
    )
    wave = session.get(Wave, small.waves[2026])
    assert wave is not None
    before = plans.previous_plan(session, wave, "Office B / Team 1")
    assert before is not None and before.year == 2025
    assert before.focus_areas[0].actions[0].text == "Huddle"
    assert plans.previous_plan(session, wave, "Office B / Team 2") is None


def test_saving_a_plan_again_with_the_same_focus_area_replaces_it(
    session: Session, small: SmallJurisdiction
) -> None:
    wave, unit = small.waves[2026], small.units["Office B / Team 1"]
    first = plans.ActionInput("Weekly huddle", "team lead", None, "planned")
    plans.save_plan(session, None, wave, unit, [plans.FocusInput("safety_organizing", (first,))])
    done = plans.ActionInput("Weekly huddle", "team lead", None, "done")
    view = plans.save_plan(
        session, None, wave, unit, [plans.FocusInput("safety_organizing", (done,))]
    )
    assert [(f.scale_key, [a.status for a in f.actions]) for f in view.focus_areas] == [
        ("safety_organizing", ["done"])
    ]
    assert session.scalar(select(func.count()).select_from(PlanAction)) == 1


def test_a_spanish_speaking_leader_sees_the_scales_in_spanish(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    """The plan page and the roll-up name each scale in the page's language, as the reports do."""
    from surveys import load_default

    titles = {s.key: s.title for s in load_default().scales}
    wave, unit = small.waves[2026], small.units["Office B / Team 1"]
    plans.save_plan(session, None, wave, unit, [plans.FocusInput("field_safety", ())])
    leader = make_leader(session, small, "lider@lake.org", "Office B")
    leader.language = "es"
    session.commit()
    client = app.test_client()
    login(client, "lider@lake.org")
    for url in (f"/plans/{wave}/{unit}", f"/plans/{wave}/summary"):
        page = client.get(url).get_data(as_text=True)
        assert titles["field_safety"]["es"] in page, url
        assert titles["field_safety"]["en"] not in page, url
