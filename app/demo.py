"""The demo: seed six synthetic jurisdictions with two waves each, then serve the app locally.

Seeding is idempotent: a database that already holds the demo jurisdictions is left as it is.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

import surveys
from app.demo_data import TeamEffects, generate_answers, new_team_effects
from app.models import (
    PATH_SEPARATOR,
    DailyCount,
    DeliveryStatus,
    Invitation,
    Jurisdiction,
    OrgUnit,
    Response,
    Role,
    RosterEntry,
    UnitKind,
    User,
    Wave,
    WaveStatus,
)
from app.services import background as background_counters
from app.services import contributions, history, sealing, sharing
from app.services.instruments import ensure_instrument
from app.services.tokens import hash_token, new_token, open_token, seal_token

SEED = 2026
#: (name, slug, regions); what each shares is DEMO_SHARING.
JURISDICTIONS = (
    ("Alder County", "alder", 2),
    ("Birch Valley County", "birch-valley", 3),
    ("Cedar State", "cedar", 3),
    ("Dogwood County", "dogwood", 2),
    ("Elm River County", "elm-river", 3),
    ("Fir Coast State", "fir-coast", 3),
)
OFFICE_NAMES = ("North", "South", "East", "West")
NATIONAL_LOGIN = "national@demo.example"
ADMIN_LOGIN = "admin@alder.demo.example"
LEADER_LOGIN = "leader@alder.demo.example"
COMMENTS = (
    "More time to talk through hard cases as a team before decisions are made.",
    "A second worker on evening home visits, every time, not only when someone is free.",
    "Fewer forms after a critical incident and more support for the worker involved.",
    "Our supervisor listens; leadership above her should do the same.",
    "Caseloads need to come down before anything else will change.",
    "A safer waiting room at the office: the door to the work area should lock.",
    "Regular debriefs after removals would help the newer staff a lot.",
)


#: The level each demo jurisdiction's closed wave shares under its agreement, so the coordinator's
#: home and psychometric report have contributions to show. Every level includes benchmark
#: figures, so each reader compares with the five others (a reader is never in its own group).
DEMO_SHARING = {
    "alder": "psychometric",
    "birch-valley": "psychometric",
    "cedar": "research_extract",
    "dogwood": "psychometric",
    "elm-river": "benchmark",
    "fir-coast": "benchmark",
}
#: The level agreed ahead for each open wave: its contribution can leave once it closes.
DEMO_OPEN_SHARING = "benchmark"

#: The open wave opened this many days before the day the demo is seeded, and closes as many after.
OPEN_WAVE_HALF_SPAN = timedelta(days=21)


@dataclass(frozen=True)
class WaveWindow:
    """When one demo wave runs: its survey year, first and last moment."""

    year: int
    opens_at: datetime
    closes_at: datetime


def demo_calendar(today: date) -> tuple[WaveWindow, WaveWindow]:
    """Last year's (closed) and this year's (open) demo wave, dated relative to ``today``.

    The open wave opened three weeks ago and closes in three weeks, so the printed links work on
    whatever day the demo is run; the closed one ran over the same weeks a year earlier.
    """
    opens = datetime.combine(today - OPEN_WAVE_HALF_SPAN, datetime.min.time(), UTC)
    opens = opens.replace(hour=13)
    closes = datetime.combine(today + OPEN_WAVE_HALF_SPAN, datetime.min.time(), UTC)
    closes = closes.replace(hour=23)
    current = WaveWindow(opens.year, opens, closes)
    before = WaveWindow(opens.year - 1, _a_year_before(opens), _a_year_before(closes))
    return before, current


def _a_year_before(moment: datetime) -> datetime:
    # 29 February has no twin in the year before: take the 28th.
    day = min(moment.day, 28) if (moment.month, moment.day) == (2, 29) else moment.day
    return moment.replace(year=moment.year - 1, day=day)


@dataclass(frozen=True)
class DemoInfo:
    password: str
    links: tuple[str, ...]
    seeded_now: bool


def seed(
    session: Session, mailer: sealing.Keyring, public_url: str, instance_path: Path
) -> DemoInfo:
    """Create the demo data unless it exists; return the logins and three open survey links.

    ``mailer`` is the mailer keyring: the demo process is also the mail worker, so it seals the
    open wave's link tokens to the mailer public key and opens three of them to print.
    """
    password = _demo_password(instance_path)
    already = session.scalar(
        select(func.count())
        .select_from(Jurisdiction)
        .where(Jurisdiction.slug.in_([j[1] for j in JURISDICTIONS]))
    )
    seeded_now = not already
    today = datetime.now(UTC).date()
    if seeded_now:
        _seed_all(session, mailer.public, password, today)
        session.commit()
        _seed_sharing(session)
    else:
        _keep_open(session, today)
    session.commit()
    return DemoInfo(password, _open_links(session, mailer, public_url), seeded_now)


def _seed_sharing(session: Session) -> None:
    """An agreement for every demo wave; contributions approved for the closed ones (commits)."""
    for wave, slug in session.execute(
        select(Wave, Jurisdiction.slug)
        .join(Jurisdiction, Wave.jurisdiction_id == Jurisdiction.id)
        .where(Jurisdiction.slug.in_(list(DEMO_SHARING)))
        .order_by(Jurisdiction.slug, Wave.year)
    ).all():
        closed = wave.status == WaveStatus.CLOSED
        level = DEMO_SHARING[slug] if closed else DEMO_OPEN_SHARING
        reference = f"NPCS data-sharing agreement {wave.year}/{slug}"
        sharing.set_level(session, None, wave.id, level, reference=reference)
        if closed:
            contributions.approve_contribution(session, None, wave.id)


def _demo_password(instance_path: Path) -> str:
    path = instance_path / "demo-password"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def _keep_open(session: Session, today: date) -> None:
    """A demo seeded weeks ago still shows an open wave: move a near closing date out again."""
    soon = datetime.combine(today + timedelta(days=7), datetime.min.time(), UTC)
    later = demo_calendar(today)[1].closes_at
    for wave in session.scalars(
        select(Wave)
        .join(Jurisdiction, Wave.jurisdiction_id == Jurisdiction.id)
        .where(
            Jurisdiction.slug.in_([j[1] for j in JURISDICTIONS]),
            Wave.status == WaveStatus.OPEN,
        )
    ):
        if wave.closes_at < soon:  # stored times come back aware (models.base.UTCDateTime)
            wave.closes_at = later


def _seed_all(
    session: Session, mailer_public: sealing.PublicKey, password: str, today: date
) -> None:
    rng = np.random.default_rng(SEED)
    instrument = surveys.load_default()
    instrument_row = ensure_instrument(session, instrument)
    password_hash = generate_password_hash(password, method="scrypt")
    session.add(User(email=NATIONAL_LOGIN, password_hash=password_hash, role=Role.NATIONAL))
    for index, (name, slug, n_regions) in enumerate(JURISDICTIONS):
        jurisdiction = Jurisdiction(name=name, slug=slug)
        session.add(jurisdiction)
        session.flush()
        root, teams, staff = _build_tree(session, jurisdiction, n_regions, rng)
        effects_before = new_team_effects(instrument, len(teams), rng)
        # Some jurisdictions worked on speaking up and supervision after last year's results.
        shift = np.zeros(len(instrument.scales))
        if index % 2 == 0:
            shift[:2] = 0.25
        effects_now = effects_before.drift(rng, shift=shift)
        before, current = demo_calendar(today)
        for window, effects, rate, status in (
            (before, effects_before, 0.72, WaveStatus.CLOSED),
            (current, effects_now, 0.45, WaveStatus.OPEN),
        ):
            closed = status == WaveStatus.CLOSED
            wave = Wave(
                jurisdiction_id=jurisdiction.id,
                instrument_id=instrument_row.id,
                year=window.year,
                opens_at=window.opens_at,
                closes_at=window.closes_at,
                timezone="America/New_York",
                status=status,
                launched_at=window.opens_at,
                closed_at=window.closes_at if closed else None,
            )
            session.add(wave)
            session.flush()
            _seed_wave(session, mailer_public, wave, instrument, teams, staff, effects, rate, rng)
        if index == 0:
            session.add(
                User(
                    email=ADMIN_LOGIN,
                    password_hash=password_hash,
                    role=Role.JURISDICTION_ADMIN,
                    jurisdiction_id=jurisdiction.id,
                )
            )
            leader = User(
                email=LEADER_LOGIN,
                password_hash=password_hash,
                role=Role.LEADER,
                jurisdiction_id=jurisdiction.id,
            )
            leader.units.append(root)
            session.add(leader)


def _build_tree(
    session: Session, jurisdiction: Jurisdiction, n_regions: int, rng: np.random.Generator
) -> tuple[OrgUnit, list[OrgUnit], list[tuple[int, str]]]:
    """Agency → regions → offices → teams of 2–25 staff; returns the teams and (team row, email)."""
    root = OrgUnit(
        jurisdiction_id=jurisdiction.id, name=jurisdiction.name, path="", kind=UnitKind.AGENCY
    )
    session.add(root)
    teams: list[OrgUnit] = []
    for r in range(1, n_regions + 1):
        region = OrgUnit(
            jurisdiction_id=jurisdiction.id,
            parent=root,
            name=f"Region {r}",
            path=f"Region {r}",
            kind=UnitKind.REGION,
        )
        for o in range(int(rng.integers(2, 4))):
            office_name = f"{OFFICE_NAMES[o]} Office"
            office = OrgUnit(
                jurisdiction_id=jurisdiction.id,
                parent=region,
                name=office_name,
                path=PATH_SEPARATOR.join([region.path, office_name]),
                kind=UnitKind.OFFICE,
            )
            for t in range(int(rng.integers(3, 8))):
                team_name = f"Team {chr(ord('A') + t)}"
                teams.append(
                    OrgUnit(
                        jurisdiction_id=jurisdiction.id,
                        parent=office,
                        name=team_name,
                        path=PATH_SEPARATOR.join([office.path, team_name]),
                        kind=UnitKind.TEAM,
                    )
                )
    session.add_all(teams)
    session.flush()
    staff: list[tuple[int, str]] = []
    for row in range(len(teams)):
        size = int(rng.choice([2, 3, 4])) if rng.random() < 0.08 else int(rng.integers(5, 26))
        for _ in range(size):
            staff.append((row, f"staff{len(staff) + 1:04d}@{jurisdiction.slug}.demo.example"))
    session.execute(
        insert(RosterEntry),
        [
            {
                "jurisdiction_id": jurisdiction.id,
                "unit_id": teams[row].id,
                "email": email,
                "language": "es" if i % 9 == 0 else "en",
                "active": True,
                "imported_count": 1,
            }
            for i, (row, email) in enumerate(staff)
        ],
    )
    return root, teams, staff


def _seed_wave(
    session: Session,
    mailer_public: sealing.PublicKey,
    wave: Wave,
    instrument: surveys.Instrument,
    teams: list[OrgUnit],
    staff: list[tuple[int, str]],
    effects: TeamEffects,
    rate: float,
    rng: np.random.Generator,
) -> None:
    closed = wave.status == WaveStatus.CLOSED
    answered = rng.random(len(staff)) < rate
    invitations = []
    for i, (row, email) in enumerate(staff):
        token = new_token()
        token_sealed = None if closed else seal_token(mailer_public, token)
        token_hash = hash_token(token)
        invitations.append(
            {
                "wave_id": wave.id,
                "unit_id": teams[row].id,
                "email": None if closed else email,
                "language": "es" if i % 9 == 0 else "en",
                "token_hash": token_hash,
                "token_sealed": token_sealed,
                "completed": bool(answered[i]),
                "delivery_status": DeliveryStatus.SENT,
                "send_wanted": 0,
                "send_done": 0,
                "attempts": 1,
            }
        )
    session.execute(insert(Invitation), invitations)
    # As a launch does: the wave keeps the tree and counts it was sent out on.
    history.freeze_tree(session, wave.id, wave.jurisdiction_id, [teams[row].id for row, _ in staff])

    team_of = np.array([row for (row, _), yes in zip(staff, answered, strict=True) if yes])
    language_of = [invitations[i]["language"] for i in range(len(staff)) if answered[i]]
    answers = generate_answers(instrument, team_of, effects, rng)
    keys = instrument.item_keys
    rows = []
    # Background answers and languages go where the mixer puts them: jurisdiction-wide counters
    # and per-language sums, never on a response next to its team.
    entries: list[dict[str, Any]] = []
    for r in rng.permutation(len(team_of)):
        values = {k: int(v) for k, v in zip(keys, answers[r], strict=True) if not math.isnan(v)}
        background: dict[str, int | None] = {"role": None, "tenure": None}
        if rng.random() < 0.8:
            background["role"] = int(rng.choice([1, 1, 1, 2, 3, 4, 5]))
        if rng.random() < 0.8:
            background["tenure"] = int(rng.integers(1, 5))
        comment = str(rng.choice(COMMENTS)) if rng.random() < 0.15 else None
        rows.append(
            {
                "wave_id": wave.id,
                "unit_id": teams[int(team_of[r])].id,
                "answers": values,
                "comment": comment,
            }
        )
        entries.append({"background": background, "language": language_of[r], "items": values})
    if rows:
        session.execute(insert(Response), rows)
        background_counters.record_batch(session, wave.id, wave.jurisdiction_id, entries)
    _seed_daily_counts(session, wave, teams, team_of, rng)


def _seed_daily_counts(
    session: Session,
    wave: Wave,
    teams: list[OrgUnit],
    team_of: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Spread each team's submissions over the days the wave has been open (most at the start)."""
    seeded_on = datetime.now(UTC).date()
    end = wave.closes_at.date() if wave.status == WaveStatus.CLOSED else seeded_on
    days = max(1, (end - wave.opens_at.date()).days)
    counts: dict[tuple[int, date], int] = {}
    for row in team_of:
        offset = min(days - 1, int(rng.exponential(days / 4)))
        key = (teams[int(row)].id, wave.opens_at.date() + timedelta(days=offset))
        counts[key] = counts.get(key, 0) + 1
    session.execute(
        insert(DailyCount),
        [
            {"wave_id": wave.id, "unit_id": unit_id, "day": day, "submissions": n}
            for (unit_id, day), n in sorted(counts.items())
        ],
    )


def _open_links(session: Session, mailer: sealing.Keyring, public_url: str) -> tuple[str, ...]:
    """Three survey links of the first open demo wave that have not been answered yet."""
    rows = session.scalars(
        select(Invitation)
        .join(Wave, Invitation.wave_id == Wave.id)
        .join(Jurisdiction, Wave.jurisdiction_id == Jurisdiction.id)
        .where(
            Jurisdiction.slug == JURISDICTIONS[0][1],
            Wave.status == WaveStatus.OPEN,
            Invitation.completed.is_(False),
            Invitation.token_sealed.is_not(None),
        )
        .order_by(Invitation.id)
        .limit(3)
    ).all()
    return tuple(
        f"{public_url}/s/{open_token(mailer, row.token_sealed)}" for row in rows if row.token_sealed
    )
