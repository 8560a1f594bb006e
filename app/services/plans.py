"""Action plans: a unit's focus areas and agreed actions after a wave, and their roll-up.

A plan belongs to a unit whose results are shown for that wave (a unit without results has
nothing to discuss; its people are part of the unit above, which can make a plan). Leaders
write plans for units in their scope, administrators for their jurisdiction. Owners are roles
("team supervisor"), never a person's name: a plan is read by the whole team and next year.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

import surveys
from app.i18n import lazy_message as _l
from app.models import (
    ActionPlan,
    ActionStatus,
    OrgUnit,
    PlanAction,
    PlanFocus,
    User,
    Wave,
    utcnow,
)
from app.services import audit
from app.services.access import can_manage_jurisdiction, can_read_unit, require
from app.services.instruments import definition_of
from app.services.jurisdictions import NotFound

MAX_FOCUS_AREAS = 3
MAX_ACTIONS = 3
MAX_TEXT = 500
MAX_OWNER = 100
_EMAIL_LIKE = re.compile(r"\S+@\S+")


class PlanError(Exception):
    """Invalid plan data (one line)."""


@dataclass(frozen=True)
class ActionInput:
    text: str
    owner_role: str
    target_date: date | None
    status: str


@dataclass(frozen=True)
class FocusInput:
    scale_key: str
    actions: tuple[ActionInput, ...]


@dataclass(frozen=True)
class ActionView:
    text: str
    owner_role: str
    target_date: date | None
    status: str


@dataclass(frozen=True)
class FocusView:
    scale_key: str
    scale_title: str
    actions: tuple[ActionView, ...]


@dataclass(frozen=True)
class PlanView:
    wave_id: int
    year: int
    unit_id: int
    unit_path: str
    unit_name: str
    focus_areas: tuple[FocusView, ...]
    scales: tuple[tuple[str, str], ...]  # (key, English title) the wave's instrument offers

    @property
    def actions_done(self) -> int:
        return sum(a.status == ActionStatus.DONE for f in self.focus_areas for a in f.actions)

    @property
    def actions_total(self) -> int:
        return sum(len(f.actions) for f in self.focus_areas)


def _scales(wave: Wave, language: str = "en") -> tuple[tuple[str, str], ...]:
    """(key, title in ``language``, else in English) of each scale the wave's instrument has."""
    instrument: surveys.Instrument = definition_of(wave.instrument)
    return tuple(
        (s.key, s.title.get(language) or s.title.get("en", s.key)) for s in instrument.scales
    )


def _unit_and_wave(
    session: Session, actor: User | None, wave_id: int, unit_id: int
) -> tuple[Wave, OrgUnit]:
    wave = session.get(Wave, wave_id)
    unit = session.get(OrgUnit, unit_id)
    if wave is None or unit is None or unit.jurisdiction_id != wave.jurisdiction_id:
        raise NotFound(_l("no such unit in this wave"))
    if actor is not None and not can_read_unit(actor, unit):
        raise NotFound(_l("no such unit in this wave"))  # not yours and unknown look the same
    return wave, unit


def _view(wave: Wave, unit: OrgUnit, plan: ActionPlan | None, language: str = "en") -> PlanView:
    scales = _scales(wave, language)
    titles = dict(scales)
    focus = tuple(
        FocusView(
            scale_key=f.scale_key,
            scale_title=titles.get(f.scale_key, f.scale_key),
            actions=tuple(
                ActionView(a.text, a.owner_role, a.target_date, a.status.value) for a in f.actions
            ),
        )
        for f in (plan.focus_areas if plan else [])
    )
    return PlanView(
        wave_id=wave.id,
        year=wave.year,
        unit_id=unit.id,
        unit_path=unit.path,
        unit_name=unit.name,
        focus_areas=focus,
        scales=scales,
    )


def _find(session: Session, wave_id: int, unit_id: int) -> ActionPlan | None:
    return session.scalars(
        select(ActionPlan).where(ActionPlan.wave_id == wave_id, ActionPlan.unit_id == unit_id)
    ).first()


def require_results(session: Session, actor: User | None, wave_id: int, unit_id: int) -> None:
    """NotFound unless the unit's results are shown for the wave (and the actor may see it)."""
    from app.services import reports

    _unit_and_wave(session, actor, wave_id, unit_id)
    try:
        entries = reports.list_reports(session, wave_id)
    except reports.ReportError:
        raise NotFound(_l("this wave has no results yet")) from None
    if not any(e.unit_id == unit_id and e.shown for e in entries):
        raise NotFound(
            _l("this unit has no results of its own in this wave: plan with the unit above")
        )


def get_plan(
    session: Session,
    actor: User | None,
    wave_id: int,
    unit_id: int,
    *,
    language: str = "en",
) -> PlanView:
    """The unit's plan for the wave (empty if none yet), scale titles in ``language``."""
    wave, unit = _unit_and_wave(session, actor, wave_id, unit_id)
    return _view(wave, unit, _find(session, wave_id, unit_id), language)


def _check(focus: Sequence[FocusInput], scales: Sequence[str], year: int) -> None:
    if len(focus) > MAX_FOCUS_AREAS:
        raise PlanError(_l("focus areas: at most %(n)s", n=MAX_FOCUS_AREAS))
    keys = [f.scale_key for f in focus]
    if len(set(keys)) != len(keys):
        raise PlanError(_l("focus areas: each scale at most once"))
    for number, area in enumerate(focus, 1):
        if area.scale_key not in scales:
            raise PlanError(_l("focus area %(area)s: not a scale of this survey", area=number))
        if len(area.actions) > MAX_ACTIONS:
            raise PlanError(
                _l("focus area %(area)s: at most %(n)s actions", area=number, n=MAX_ACTIONS)
            )
        for index, action in enumerate(area.actions, 1):
            where = _l("focus area %(area)s, action %(action)s", area=number, action=index)
            if not action.text.strip():
                raise PlanError(_l("%(where)s: say what the team will do", where=where))
            if len(action.text) > MAX_TEXT:
                raise PlanError(_l("%(where)s: at most %(n)s characters", where=where, n=MAX_TEXT))
            if not action.owner_role.strip():
                raise PlanError(
                    _l(
                        "%(where)s: name the role that owns it (for example 'supervisor')",
                        where=where,
                    )
                )
            if len(action.owner_role) > MAX_OWNER:
                raise PlanError(
                    _l(
                        "%(where)s: the owner role has at most %(n)s characters",
                        where=where,
                        n=MAX_OWNER,
                    )
                )
            if _EMAIL_LIKE.search(action.owner_role) or _EMAIL_LIKE.search(action.text):
                raise PlanError(_l("%(where)s: a role, not an email address", where=where))
            if action.status not in {s.value for s in ActionStatus}:
                raise PlanError(_l("%(where)s: unknown status", where=where))
            if action.target_date is not None and not (
                year - 1 <= action.target_date.year <= year + 3
            ):
                raise PlanError(
                    _l(
                        "%(where)s: a target date between %(first)s and %(last)s",
                        where=where,
                        first=year - 1,
                        last=year + 3,
                    )
                )


def save_plan(
    session: Session,
    actor: User | None,
    wave_id: int,
    unit_id: int,
    focus: Sequence[FocusInput],
) -> PlanView:
    """Replace the unit's plan for the wave with ``focus`` (all checked first; audited)."""
    wave, unit = _unit_and_wave(session, actor, wave_id, unit_id)
    require_results(session, actor, wave_id, unit_id)
    _check(focus, [key for key, _ in _scales(wave)], wave.year)
    plan = _find(session, wave_id, unit_id)
    if plan is None:
        plan = ActionPlan(wave_id=wave_id, unit_id=unit_id)
        session.add(plan)
    elif plan.focus_areas:
        # Delete the old areas first: a scale kept in the new plan would otherwise be inserted
        # before its old row is gone, and the (plan, scale) key would collide.
        plan.focus_areas.clear()
        session.flush()
    plan.focus_areas = [
        PlanFocus(
            scale_key=area.scale_key,
            position=number,
            actions=[
                PlanAction(
                    position=index,
                    text=action.text.strip(),
                    owner_role=action.owner_role.strip(),
                    target_date=action.target_date,
                    status=ActionStatus(action.status),
                )
                for index, action in enumerate(area.actions)
            ],
        )
        for number, area in enumerate(focus)
    ]
    plan.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "plan.save",
        f"wave {wave.id} ({wave.year}), {unit.path or 'whole agency'}: "
        f"{len(focus)} focus areas, {sum(len(f.actions) for f in focus)} actions",
        jurisdiction_id=wave.jurisdiction_id,
    )
    session.commit()
    return _view(wave, unit, plan)


def previous_plan(session: Session, wave: Wave, unit_path: str) -> PlanView | None:
    """Last year's plan of the unit with the same path, for this year's report (or None)."""
    before = session.scalars(
        select(Wave)
        .where(Wave.jurisdiction_id == wave.jurisdiction_id, Wave.year < wave.year)
        .order_by(Wave.year.desc())
        .limit(1)
    ).first()
    if before is None:
        return None
    unit = session.scalars(
        select(OrgUnit).where(
            OrgUnit.jurisdiction_id == wave.jurisdiction_id, OrgUnit.path == unit_path
        )
    ).first()
    if unit is None:
        return None
    plan = _find(session, before.id, unit.id)
    return _view(before, unit, plan) if plan is not None and plan.focus_areas else None


@dataclass(frozen=True)
class ScaleRollup:
    scale_key: str
    scale_title: str
    units: int
    actions: int
    done: int


@dataclass(frozen=True)
class Rollup:
    wave_id: int
    year: int
    units_with_plans: int
    scales: tuple[ScaleRollup, ...]


def rollup(session: Session, actor: User | None, wave_id: int, *, language: str = "en") -> Rollup:
    """How many units in the actor's reach chose each scale, and how far their actions are
    (scale titles in ``language``).

    Plans exist only for units with shown results, so these counts expose no small group.
    """
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(_l("no wave %(id)s", id=wave_id))
    plans = session.scalars(select(ActionPlan).where(ActionPlan.wave_id == wave_id)).all()
    if actor is not None and not can_manage_jurisdiction(actor, wave.jurisdiction_id):
        require(actor.jurisdiction_id == wave.jurisdiction_id, _l("this jurisdiction's plans"))
        units = {p.unit_id: session.get(OrgUnit, p.unit_id) for p in plans}
        plans = [
            p for p in plans if (u := units[p.unit_id]) is not None and can_read_unit(actor, u)
        ]
    titles = dict(_scales(wave, language))
    chosen: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    done: Counter[str] = Counter()
    for plan in plans:
        for area in plan.focus_areas:
            chosen[area.scale_key] += 1
            actions[area.scale_key] += len(area.actions)
            done[area.scale_key] += sum(a.status == ActionStatus.DONE for a in area.actions)
    return Rollup(
        wave_id=wave.id,
        year=wave.year,
        units_with_plans=sum(1 for p in plans if p.focus_areas),
        scales=tuple(
            ScaleRollup(key, titles.get(key, key), chosen[key], actions[key], done[key])
            for key in sorted(chosen, key=lambda k: (-chosen[k], k))
        ),
    )
