"""National benchmarks from contributions only: what leaves, what a reader's report compares
with, what it never reveals, and what a withdrawal changes."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from flask import Flask, render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
import surveys
from app.demo_data import generate_answers, new_team_effects
from app.models import (
    Jurisdiction,
    OrgUnit,
    ReceivedContribution,
    Response,
    SharingLevel,
    UnitKind,
    Wave,
    WaveStatus,
)
from app.reporting import ReportContext, render_html
from app.services import benchmarks, contributions, reports, sharing
from app.services.instruments import ensure_instrument
from app.services.reports.publication import own_publication
from app.services.reports.results import load_wave
from scoring.publication import national_benchmark

LEVELS = (10, 25, 50, 75, 90)


@dataclass(frozen=True)
class Member:
    """One seeded jurisdiction: its wave, agency and teams (team of 2 or 3: hidden)."""

    slug: str
    name: str
    wave_id: int
    agency_id: int
    team_ids: tuple[int, ...]


def _member(session: Session, slug: str, sizes: list[int], rng: np.random.Generator) -> Member:
    instrument = surveys.load_default()
    row = ensure_instrument(session, instrument)
    jurisdiction = Jurisdiction(name=f"{slug.title()} Shire", slug=slug)
    session.add(jurisdiction)
    session.flush()
    agency = OrgUnit(
        jurisdiction_id=jurisdiction.id, name=jurisdiction.name, path="", kind=UnitKind.AGENCY
    )
    session.add(agency)
    teams = [
        OrgUnit(
            jurisdiction_id=jurisdiction.id,
            parent=agency,
            name=f"{slug} team {t}",
            path=f"{slug} team {t}",
            kind=UnitKind.TEAM,
        )
        for t in range(len(sizes))
    ]
    session.add_all(teams)
    wave = Wave(
        jurisdiction_id=jurisdiction.id,
        instrument_id=row.id,
        year=2026,
        opens_at=datetime(2026, 11, 1, tzinfo=UTC),
        closes_at=datetime(2026, 12, 1, tzinfo=UTC),
        status=WaveStatus.CLOSED,
        min_report_n=5,
    )
    session.add(wave)
    session.flush()
    team_of = np.repeat(np.arange(len(sizes)), sizes)
    answers = generate_answers(
        instrument, team_of, new_team_effects(instrument, len(sizes), rng), rng
    )
    for r, t in enumerate(team_of):
        values = {
            k: int(v)
            for k, v in zip(instrument.item_keys, answers[r], strict=True)
            if not np.isnan(v)
        }
        session.add(Response(wave_id=wave.id, unit_id=teams[int(t)].id, answers=values))
    session.commit()
    return Member(slug, jurisdiction.name, wave.id, agency.id, tuple(t.id for t in teams))


def _world(session: Session, count: int, seed: int) -> list[Member]:
    """``count`` jurisdictions of 1–9 teams (some lone, some hidden), each sharing benchmarks."""
    rng = np.random.default_rng(seed)
    members = []
    for j in range(count):
        teams = 1 if j % 4 == 0 else int(rng.integers(3, 10))
        sizes = [int(s) for s in rng.integers(6, 14, size=teams)]
        if teams > 2:
            sizes[-1] = 2  # hidden, and a sibling hidden with it
        members.append(_member(session, f"m{seed}-{j}", sizes, rng))
    for m in members:
        sharing.set_level(session, None, m.wave_id, "benchmark", reference=f"DSA {m.slug}")
        contributions.approve_contribution(session, None, m.wave_id)
    return members


@pytest.fixture(autouse=True)
def _report_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """A report cache per test (a test with ``app`` has that app's own)."""
    if "app" in request.fixturenames:
        yield
        return
    holder = Flask("benchmark-tests")
    reports.init_app(holder)
    with holder.app_context():
        yield


def _shown(pub: scoring.Publication, kind: str, scale: str) -> list[float]:
    return [
        float(u.scales[scale].pct_positive)  # type: ignore[arg-type]
        for u in pub.units.values()
        if u.shown and u.kind == kind and u.scales[scale].shown
    ]


def _own_figures(pub: scoring.Publication, scale: str) -> list[float]:
    """A jurisdiction's own figures on a scale: its whole wave's, and the figure of any unit
    that is the only shown one of its kind (that unit *is* the jurisdiction for the kind)."""
    out = []
    overall = pub.overall.scales[scale]
    if overall.shown and overall.pct_positive is not None:
        out.append(float(overall.pct_positive))
    for kind in {u.kind for u in pub.units.values()}:
        values = _shown(pub, kind, scale)
        if len(values) == 1:
            out.append(values[0])
    return out


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)


# ------------------------------------------------------------------ what leaves


def test_a_benchmark_contribution_holds_only_published_figures_and_no_row(
    session: Session,
) -> None:
    rng = np.random.default_rng(3)
    member = _member(session, "solo", [8, 7, 6, 2, 9], rng)
    sharing.set_level(session, None, member.wave_id, "benchmark", reference="DSA solo")
    payload = contributions.build_contribution(session, None, member.wave_id).payload
    pub = own_publication(load_wave(session, member.wave_id))
    assert "statistics" not in payload
    section = payload["benchmark"]
    # Every figure is a shown cell of the publication, of its kind and scale, and all of them.
    for kind in ("agency", "team"):
        for scale in pub.scales:
            sent = sorted(f[0] for f in section["units"].get(kind, {}).get(scale, []))
            assert sent == pytest.approx(sorted(_shown(pub, kind, scale)), abs=0)
    # The team of 2 and its complementary sibling are hidden: 3 of 5 teams leave, per scale.
    assert {len(v) for v in section["units"]["team"].values()} == {3}
    # No number that the publication does not show: each one is a shown figure, the n band
    # of one (never below the minimum), the minimum, the year or a shown count.
    shown = {float(v) for s in pub.scales for k in ("agency", "team") for v in _shown(pub, k, s)}
    shown |= {float(c.pct_positive) for c in pub.overall.scales.values() if c.shown}  # type: ignore[arg-type]
    overall = pub.overall
    counts = {float(c.value) for c in (overall.responses, overall.invited) if c.value is not None}
    assert payload["wave"]["responses"] == overall.responses.value
    assert payload["wave"]["invited"] == overall.invited.value
    bands = {5.0, 10.0, 20.0, 50.0, 100.0}
    for number in _numbers(payload):
        assert number in shown | counts | bands | {2026.0, float(pub.min_n)}, number
    # No row and no name of a unit: nothing ties a figure to a team or to another scale.
    text = json.dumps(payload)
    for response_id in session.scalars(
        select(Response.id).where(Response.wave_id == member.wave_id)
    ):
        assert str(response_id) not in text
    assert "solo team" not in text
    for unit_id in (member.agency_id, *member.team_ids):
        assert f'"{unit_id}"' not in text and f"{unit_id}:" not in text


def test_a_psychometric_contribution_adds_statistics_but_no_row(session: Session) -> None:
    rng = np.random.default_rng(4)
    member = _member(session, "psy", [12, 12, 12, 12, 12], rng)
    sharing.set_level(session, None, member.wave_id, "psychometric", reference="DSA psy")
    payload = contributions.build_contribution(session, None, member.wave_id).payload
    assert payload["benchmark"]["format"] == contributions.BENCHMARK_FORMAT

    def lengths(value: Any) -> Iterator[int]:
        if isinstance(value, list):
            yield len(value)
            for v in value:
                yield from lengths(v)
        elif isinstance(value, dict):
            for v in value.values():
                yield from lengths(v)

    # 60 respondents: a row-per-respondent list would have 60 entries; none is longer than
    # the instrument's 36 items.
    assert max(lengths(payload)) <= len(surveys.load_default().item_keys) < 60
    text = json.dumps(payload)
    for response_id in session.scalars(
        select(Response.id).where(Response.wave_id == member.wave_id)
    ):
        assert str(response_id) not in text


# ------------------------------------------------------------------ what a reader compares with


def _national(ctx: ReportContext) -> dict[str, list[float]]:
    out = {}
    for s in ctx.scales:
        b = s.national_benchmark
        if b is not None:
            out[s.key] = [b.p10, b.p25, b.p50, b.p75, b.p90, b.n_teams, b.n_jurisdictions]
    return out


@pytest.mark.parametrize("count", [5, 8, 20])
def test_no_published_benchmark_equals_or_interpolates_other_jurisdictions_own_figures(
    session: Session, count: int
) -> None:
    members = _world(session, count, seed=count)
    pubs = {m.slug: own_publication(load_wave(session, m.wave_id)) for m in members}
    instrument = surveys.load_default()
    published = 0
    for reader in members[:3]:
        others = [m for m in members if m is not reader]
        targets = [(reader.agency_id, "agency")]
        shown_teams = [t for t in reader.team_ids if pubs[reader.slug].units[str(t)].shown]
        targets += [(shown_teams[0], "team")]
        for unit_id, kind in targets:
            ctx = reports.build_context(session, reader.wave_id, unit_id)
            assert ctx.national_jurisdictions == count - 1
            for scale in instrument.scales:
                summary = ctx.scale(scale.key)
                bench = summary.national_benchmark
                values = [v for m in others for v in _shown(pubs[m.slug], kind, scale.key)]
                if bench is None:
                    continue
                published += 1
                # Exactly the others' shown figures: the reader is not in its comparison.
                assert bench.n_teams == len(values) >= 20
                got = [bench.p10, bench.p25, bench.p50, bench.p75, bench.p90]
                assert got == pytest.approx(
                    list(np.percentile(values, LEVELS, method="linear")), abs=1e-9
                )
                figures = [f for m in others for f in _own_figures(pubs[m.slug], scale.key)]
                for level, value in zip(LEVELS, got, strict=True):
                    h = (len(values) - 1) * level / 100
                    frac = h - np.floor(h)
                    for a, b in itertools.permutations(figures, 2):
                        assert abs(value - (a + frac * (b - a))) > 1e-9
                    for a in figures:
                        assert abs(value - a) > 1e-9
    if count == 5:
        # Four others are fewer than five sharing jurisdictions: nothing is published.
        assert published == 0
    else:
        assert published > 0


def test_one_agency_per_jurisdiction_is_never_summarised_nationally(session: Session) -> None:
    members = _world(session, 22, seed=22)
    ctx = reports.build_context(session, members[0].wave_id, members[0].agency_id)
    # 21 other agencies, each its jurisdiction's own figure: every percentile would be one
    # or interpolate two of them, so the comparison says why it is missing instead.
    assert all(s.national_benchmark is None for s in ctx.scales)
    assert {s.national_benchmark_note for s in ctx.scales} <= {
        "benchmark_reveals_jurisdiction",
        None,
    }
    assert ctx.national_benchmark_note in {"benchmark_reveals_jurisdiction", None}


def test_withdrawal_leaves_the_jurisdiction_out_of_the_next_report_and_says_so(
    session: Session,
) -> None:
    members = _world(session, 9, seed=19)
    reader, leaver = members[1], members[2]
    team = next(
        t
        for t in reader.team_ids
        if own_publication(load_wave(session, reader.wave_id)).units[str(t)].shown
    )
    before = reports.build_context(session, reader.wave_id, team)
    assert before.national_jurisdictions == 8 and before.national_withdrawals == ()
    assert _national(before), "eight others with enough teams publish a comparison"

    sharing.set_level(session, None, leaver.wave_id, "none")
    after = reports.build_context(session, reader.wave_id, team)
    assert after.national_jurisdictions == 7
    assert after.national_withdrawals == (datetime.now(UTC).date(),)
    remaining = [m for m in members if m not in (reader, leaver)]
    pubs = {m.slug: own_publication(load_wave(session, m.wave_id)) for m in remaining}
    for s in after.scales:
        if s.national_benchmark is None:
            continue
        values = [v for m in remaining for v in _shown(pubs[m.slug], "team", s.key)]
        assert s.national_benchmark.n_teams == len(values)
        assert s.national_benchmark.p50 == pytest.approx(float(np.median(values)), abs=1e-9)
    assert _national(after) != _national(before)
    html = render_html(after)
    assert "withdrew its figures on" in html and "7 other jurisdictions" in html
    assert leaver.name not in html and leaver.slug not in html
    # The leaver's own report does not announce its own withdrawal.
    mine = reports.build_context(session, leaver.wave_id, leaver.agency_id)
    assert mine.national_withdrawals == () and mine.national_jurisdictions == 8


def test_only_the_current_agreement_counts_and_the_newest_contribution_once(
    session: Session,
) -> None:
    members = _world(session, 6, seed=6)
    reader = members[0]
    # Approving again adds a newer contribution: still one jurisdiction, never twice its units.
    contributions.approve_contribution(session, None, members[1].wave_id)
    peers, sources = benchmarks.peers_for(
        session,
        year=2026,
        instrument_key=surveys.load_default().key,
        instrument_version=surveys.load_default().version,
        leave_out=reader.slug,
    )
    assert sources.jurisdictions == 5 and len({s for _, s in sources.contributions}) == 5
    pub = own_publication(load_wave(session, members[1].wave_id))
    scale = next(iter(pub.scales))
    theirs = [u for u in peers.units if u.jurisdiction == benchmarks.tag(members[1].slug)]
    assert len([u for u in theirs if u.kind == "team" and u.scale == scale]) == len(
        _shown(pub, "team", scale)
    )
    # Lowering to "none" in this deployment removes it at once, even before anything else.
    sharing.set_level(session, None, members[3].wave_id, "none")
    _, later = benchmarks.peers_for(
        session,
        year=2026,
        instrument_key=surveys.load_default().key,
        instrument_version=surveys.load_default().version,
        leave_out=reader.slug,
    )
    assert later.jurisdictions == 4 and len(later.withdrawals) == 1
    assert later.withdrawals[0].name is None  # a jurisdiction's reader is told no name


def test_the_coordinators_view_counts_everyone_with_names_and_renders(
    session: Session, app: Flask
) -> None:
    members = _world(session, 9, seed=19)
    staying, leaver = members[:8], members[8]
    sharing.set_level(session, None, leaver.wave_id, "none")
    view = benchmarks.national_benchmarks(session, year=2026)
    assert view is not None
    assert view.sources.jurisdictions == 8
    assert view.sources.names == tuple(sorted(m.name for m in staying))
    assert [w.name for w in view.sources.withdrawals] == [leaver.name]
    pubs = [own_publication(load_wave(session, m.wave_id)) for m in staying]
    shown = [c for c in view.cells if c.shown]
    assert shown, "eight jurisdictions' teams are enough for some team benchmark"
    for cell in shown:
        values = [v for p in pubs for v in _shown(p, cell.kind, cell.scale)]
        assert cell.n_units == len(values) and cell.n_jurisdictions == 8
        assert cell.p90 == pytest.approx(float(np.percentile(values, 90)), abs=1e-9)
    # A jurisdiction's own view leaves it out and names nobody.
    theirs = benchmarks.national_benchmarks(session, year=2026, reader_slug=staying[0].slug)
    assert theirs is not None and theirs.sources.jurisdictions == 7
    assert theirs.sources.names == () and [w.name for w in theirs.sources.withdrawals] == [None]
    with app.test_request_context():
        html = render_template("partials/national_benchmarks.html", benchmarks=view)
    assert "withdrew" in html and leaver.name in html
    assert f"{shown[0].p50:.0f}" in html
    assert benchmarks.national_benchmarks(session, year=1999) is None


# ------------------------------------------------------------------ bad input


def _payload(session: Session) -> tuple[dict[str, Any], Callable[[dict[str, Any]], str]]:
    """A benchmark contribution as it would be imported, and a way to try importing it."""
    rng = np.random.default_rng(5)
    member = _member(session, "bad", [9, 8, 7, 6, 5, 9], rng)
    sharing.set_level(session, None, member.wave_id, "benchmark", reference="DSA bad")
    payload = dict(contributions.build_contribution(session, None, member.wave_id).payload)
    payload["id"] = "00000000-0000-4000-8000-00000000000a"

    def attempt(changed: dict[str, Any]) -> str:
        before = len(session.scalars(select(ReceivedContribution)).all())
        with pytest.raises(contributions.ImportRefused) as refused:
            contributions._check_payload(session, changed)
        assert len(session.scalars(select(ReceivedContribution)).all()) == before
        message = str(refused.value)
        assert "\n" not in message and message.startswith("refused:")
        return message

    return payload, attempt


def test_figures_the_publication_would_hide_are_refused(session: Session) -> None:
    payload, attempt = _payload(session)
    assert contributions._check_payload(session, payload) is payload  # the real one passes

    small = json.loads(json.dumps(payload))
    next(iter(small["benchmark"]["units"]["team"].values()))[0][1] = 3
    assert "below the minimum of 5" in attempt(small)

    many = json.loads(json.dumps(payload))
    scale = next(iter(many["benchmark"]["units"]["team"]))
    many["benchmark"]["units"]["team"][scale] = [[50.0, 5]] * 20
    assert "more than 44 responses can fill" in attempt(many)

    lowered = json.loads(json.dumps(payload))
    lowered["benchmark"]["min_n"] = 2
    assert "below 3" in attempt(lowered)

    unknown = json.loads(json.dumps(payload))
    unknown["benchmark"]["format"] = "safety-culture-benchmark/9"
    assert "unknown format" in attempt(unknown)

    named = json.loads(json.dumps(payload))
    named["benchmark"]["names"] = ["bad team 1"]
    assert "unexpected content names" in attempt(named)

    odd = json.loads(json.dumps(payload))
    odd["benchmark"]["units"]["team"][scale][0][0] = 140.0
    assert "not percentages" in attempt(odd)

    wrong_scale = json.loads(json.dumps(payload))
    wrong_scale["benchmark"]["units"]["team"]["salary"] = [[50.0, 5]]
    assert "not in the instrument" in attempt(wrong_scale)

    levelled = json.loads(json.dumps(payload))
    levelled["level"] = SharingLevel.NONE.value
    assert "shares nothing" in attempt(levelled)


# ------------------------------------------------------------------ the rule itself


def _peers(groups: dict[str, list[float]], overall: dict[str, float]) -> scoring.Peers:
    units = [scoring.PeerUnit(j, "team", "s", v) for j, values in groups.items() for v in values]
    figures = {(j, "s"): f for j, f in overall.items()}
    return scoring.Peers(units, frozenset(groups), figures)


def test_a_percentile_tying_a_lone_units_figure_by_value_is_hidden() -> None:
    # 21 teams from 6 jurisdictions; "solo" has one team at 50.0. The median (h = 10) is the
    # 11th value; two other teams also score 50.0 and sit there, so by position the median is
    # another jurisdiction's ordinary team, but by value it is solo's own figure.
    groups = {
        "solo": [50.0],
        "a": [10.0, 20.0, 30.0, 40.0, 50.0],
        "b": [11.0, 21.0, 31.0, 41.0, 50.0],
        "c": [60.0, 70.0, 80.0],
        "d": [61.0, 71.0, 81.0],
        "e": [62.0, 72.0, 82.0, 92.0],
    }
    overall = {j: 100.0 - i for i, j in enumerate(groups)}  # never equal to a percentile
    assert sorted(v for g in groups.values() for v in g)[10] == 50.0
    cell = national_benchmark(_peers(groups, overall), "team", "s")
    assert cell.hidden == scoring.Hidden("benchmark_reveals_jurisdiction")
    # Move solo's team off the median's value: the same distribution is published.
    groups["solo"] = [49.5]
    assert sorted(v for g in groups.values() for v in g)[10] == 50.0
    shown = national_benchmark(_peers(groups, overall), "team", "s")
    assert shown.shown and shown.p50 == 50.0 and shown.n_jurisdictions == 6


def test_a_percentile_between_two_jurisdictions_whole_wave_figures_is_hidden() -> None:
    groups = {j: [10.0 * i + k for k in range(4)] for i, j in enumerate("abcdef")}
    values = sorted(v for g in groups.values() for v in g)  # 24 values: p25 at h = 5.75
    p25 = float(np.percentile(values, 25))
    # Two jurisdictions' whole-wave figures placed so that p25 is their interpolation at
    # weight .75: publishing it would hand out a relation between their own results.
    low, high = p25 - 0.75 * 8.0, p25 + 0.25 * 8.0
    overall = {"a": low, "b": high, "c": 91.5, "d": 92.5, "e": 93.5, "f": 94.5}
    cell = national_benchmark(_peers(groups, overall), "team", "s")
    assert cell.hidden == scoring.Hidden("benchmark_reveals_jurisdiction")
    overall["b"] = high + 0.3
    assert national_benchmark(_peers(groups, overall), "team", "s").shown


def test_lowering_then_raising_again_needs_a_new_approval(session: Session) -> None:
    members = _world(session, 6, seed=6)
    reader, other = members[0], members[1]

    def count() -> int:
        _, sources = benchmarks.peers_for(
            session,
            year=2026,
            instrument_key=surveys.load_default().key,
            instrument_version=surveys.load_default().version,
            leave_out=reader.slug,
        )
        return sources.jurisdictions

    assert count() == 5
    sharing.set_level(session, None, other.wave_id, "none")
    assert count() == 4
    sharing.set_level(session, None, other.wave_id, "benchmark", reference="DSA again")
    assert count() == 4  # the withdrawn contribution does not come back by itself
    contributions.approve_contribution(session, None, other.wave_id)
    assert count() == 5
