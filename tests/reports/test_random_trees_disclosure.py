"""Issue 6: on random org trees, nothing a suppressed unit holds can be worked out from reports.

For each seed a jurisdiction gets a random tree (agency → 1–3 regions → 1–3 offices → 1–4
teams, some offices with staff of their own), two survey years with different and often tiny
team sizes (some teams answer in one year only), answers from ``app.demo_data`` with extra
gaps (so a scale's n differs from the response count) and a few straight-liners. Two other
jurisdictions share benchmarks (one too small to show anything) and one does not.

Every report the project offers is built: every unit of ``list_reports`` in both years (the
shown ones through ``build_context``, the same set ``reports_to_build`` writes; the others must
raise ``UnitSuppressed``). The only result CSV/JSON is the scoring command line
(``python -m scoring score --format json|csv``), run on each year's responses. Then, as an
attacker holding every published number and the org tree:

* a hidden unit shows up only as "included in ..." without a number;
* for every published parent, each count (responses, counted respondents, a scale's n, an
  item's answers) minus that of its nearest published descendants is 0 or at least min n, and
  where it is 0 the sums (n × mean, positive answers) cancel too, so a hidden group's scores
  can never be isolated;
* a change from last year exists only for units shown in both years and is the difference of
  two published figures;
* benchmarks count exactly the shown units of their kind, never name another jurisdiction.

``test_primary_suppression_alone_lets_the_attack_through`` shows the attack is real: with
complementary suppression switched off, the same subtraction recovers a hidden group's mean.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
import scoring.disclosure
import surveys
from app.demo_data import TeamEffects, generate_answers, new_team_effects
from app.models import (
    Invitation,
    Jurisdiction,
    OrgUnit,
    Response,
    SharingLevel,
    UnitKind,
    Wave,
    WaveStatus,
)
from app.reporting import ReportContext
from app.services import contributions, reports, sharing, waves
from app.services.instruments import ensure_instrument
from scoring import cli as scoring_cli

MIN_N = 5
YEARS = (2025, 2026)
SEEDS = tuple(range(10))
#: Build contexts with the national comparison published (the default needs 5 jurisdictions).
MIN_JURISDICTIONS = 2
TODAY = date(2027, 1, 15)
#: Team sizes: many tiny teams, some empty (absent that year), some up to 12.
SIZES = np.arange(13)
SIZE_P = np.array([0.08, 0.12, 0.12, 0.1, 0.1] + [0.48 / 8] * 8)
OTHER_NAMES = ("Zephyr Basin", "Quillmoor Reach", "Tinyvale Hamlet")


@dataclass
class World:
    jurisdiction_id: int
    waves: dict[int, int]
    #: Other jurisdictions' waves, by year: (wave id, shares benchmarks).
    others: dict[int, list[tuple[int, bool]]]
    #: Every name of another jurisdiction or its units: none may appear in our reports.
    foreign_names: set[str] = field(default_factory=set)


def _unit(
    session: Session, jid: int, parent: OrgUnit | None, name: str, path: str, kind: UnitKind
) -> OrgUnit:
    unit = OrgUnit(jurisdiction_id=jid, parent=parent, name=name, path=path, kind=kind)
    session.add(unit)
    return unit


def _answers(
    instrument: surveys.Instrument,
    team_of: npt.NDArray[np.intp],
    effects: TeamEffects,
    rng: np.random.Generator,
) -> np.ndarray:
    """Demo answers plus gaps: whole scales skipped, half scales skipped, a few straight-liners."""
    answers = generate_answers(instrument, team_of, effects, rng)
    start = 0
    for scale in instrument.scales:
        width = len(scale.items)
        for r in range(len(team_of)):
            roll = rng.random()
            if roll < 0.07:
                answers[r, start : start + width] = np.nan
            elif roll < 0.12:
                drop = rng.choice(width, size=(width + 1) // 2, replace=False)
                answers[r, start + drop] = np.nan
        start += width
    for r in range(len(team_of)):
        if rng.random() < 0.04:
            answers[r] = 3.0
    return answers


def _fill_wave(
    session: Session,
    jid: int,
    instrument_id: int,
    instrument: surveys.Instrument,
    year: int,
    slots: list[OrgUnit],
    sizes: list[int],
    effects: TeamEffects,
    rng: np.random.Generator,
) -> int:
    wave = Wave(
        jurisdiction_id=jid,
        instrument_id=instrument_id,
        year=year,
        opens_at=datetime(year, 11, 1, tzinfo=UTC),
        closes_at=datetime(year, 12, 1, tzinfo=UTC),
        status=WaveStatus.CLOSED,
        min_report_n=MIN_N,
    )
    session.add(wave)
    session.flush()
    team_of = np.array([i for i, n in enumerate(sizes) for _ in range(n)], dtype=np.intp)
    answers = _answers(instrument, team_of, effects, rng)
    for r, slot in enumerate(team_of):
        values = {
            k: int(v)
            for k, v in zip(instrument.item_keys, answers[r], strict=True)
            if not np.isnan(v)
        }
        comment = f"Remark {r}: more supervision time, please." if r % 3 == 0 else None
        session.add(
            Response(wave_id=wave.id, unit_id=slots[slot].id, answers=values, comment=comment)
        )
    for slot, unit in enumerate(slots):
        answered = sizes[slot]
        extra = int(rng.integers(0, 5)) if answered or rng.random() < 0.5 else 0
        for i in range(answered + extra):
            session.add(
                Invitation(
                    wave_id=wave.id,
                    unit_id=unit.id,
                    token_hash=secrets.token_hex(32),
                    completed=i < answered,
                )
            )
    session.flush()
    return wave.id


def build_world(session: Session, seed: int) -> World:
    """The random jurisdiction of ``seed`` and its neighbours, committed."""
    rng = np.random.default_rng(seed)
    instrument = surveys.load_default()
    instrument_id = ensure_instrument(session, instrument).id
    jurisdiction = Jurisdiction(name=f"Random County {seed}", slug=f"random-{seed}")
    session.add(jurisdiction)
    session.flush()
    jid = jurisdiction.id
    agency = _unit(session, jid, None, f"Random County {seed}", "", UnitKind.AGENCY)
    slots: list[OrgUnit] = []  # units that respondents belong to directly
    for r in range(1, int(rng.integers(1, 4)) + 1):
        region = _unit(session, jid, agency, f"Region {r}", f"Region {r}", UnitKind.REGION)
        for o in range(1, int(rng.integers(1, 4)) + 1):
            name = f"Office {r}.{o}"
            office = _unit(session, jid, region, name, f"{region.path} / {name}", UnitKind.OFFICE)
            if rng.random() < 0.3:
                slots.append(office)  # staff attached to the office itself
            for t in range(1, int(rng.integers(1, 5)) + 1):
                team_name = f"Team {r}.{o}.{t}"
                slots.append(
                    _unit(
                        session, jid, office, team_name, f"{office.path} / {team_name}",
                        UnitKind.TEAM,
                    )
                )  # fmt: skip
    session.flush()
    effects = new_team_effects(instrument, len(slots), rng)
    before = [int(x) for x in rng.choice(SIZES, size=len(slots), p=SIZE_P)]
    after = []
    for n in before:
        roll = rng.random()
        if roll < 0.1:
            after.append(0)  # gone this year
        elif roll < 0.5 or n == 0:
            after.append(int(rng.choice(SIZES, p=SIZE_P)))
        else:
            after.append(max(0, n + int(rng.integers(-2, 3))))
    world = World(jid, {}, {year: [] for year in YEARS})
    world.waves[YEARS[0]] = _fill_wave(
        session, jid, instrument_id, instrument, YEARS[0], slots, before, effects, rng
    )
    world.waves[YEARS[1]] = _fill_wave(
        session, jid, instrument_id, instrument, YEARS[1], slots, after, effects.drift(rng), rng
    )

    # Neighbours: a sharing one of ordinary size, a non-sharing one, a sharing one of 3 people.
    for index, (name, shares, team_sizes) in enumerate(
        (
            (OTHER_NAMES[0], True, None),
            (OTHER_NAMES[1], False, [7, 6]),
            (OTHER_NAMES[2], True, [2, 1]),
        )
    ):
        other = Jurisdiction(name=f"{name} {seed}", slug=f"other-{seed}-{index}")
        session.add(other)
        session.flush()
        world.foreign_names.add(name)
        top = _unit(session, other.id, None, other.name, "", UnitKind.AGENCY)
        office = _unit(session, other.id, top, f"{name} Office", f"{name} Office", UnitKind.OFFICE)
        sizes = team_sizes or [int(x) for x in rng.choice(SIZES, size=4, p=SIZE_P)] + [8, 9]
        teams = [
            _unit(session, other.id, office, f"{name} Team {t}", f"x / {t}", UnitKind.TEAM)
            for t in range(len(sizes))
        ]
        world.foreign_names |= {office.name} | {t.name for t in teams}
        session.flush()
        other_effects = new_team_effects(instrument, len(teams), rng)
        for year in YEARS:
            wave_id = _fill_wave(
                session, other.id, instrument_id, instrument, year, teams, sizes, other_effects, rng
            )
            world.others[year].append((wave_id, shares))
    session.commit()
    # National benchmarks come from contributions: ours and the sharing neighbours agree to share
    # benchmark figures and approve theirs (the one of 3 people has too few answers to send any).
    sharing_waves = list(world.waves.values()) + [
        wave_id for ids in world.others.values() for wave_id, shares in ids if shares
    ]
    for wave_id in sorted(sharing_waves):
        sharing.set_level(session, None, wave_id, SharingLevel.BENCHMARK, reference="test")
        try:
            contributions.approve_contribution(session, None, wave_id)
        except contributions.ContributionError:
            continue
    return world


# --------------------------------------------------------------------------- publishing


@dataclass
class Published:
    """Everything one wave of our jurisdiction publishes, as the attacker collects it."""

    year: int
    results: reports.WaveResults
    contexts: dict[int, ReportContext]
    hidden: set[int]

    def children(self, unit_id: int) -> tuple[int, ...]:
        return self.results.children.get(unit_id, ())

    def frontier(self, unit_id: int, shows: Callable[[int], bool]) -> list[int]:
        """Nearest descendants that publish the figure, looking through those that do not."""
        out: list[int] = []
        pending = list(self.children(unit_id))
        while pending:
            c = pending.pop()
            if shows(c):
                out.append(c)
            else:
                pending.extend(self.children(c))
        return out


def publish(session: Session, wave_id: int) -> Published:
    results = reports.wave_results(session, wave_id)
    entries = reports.list_reports(session, wave_id)
    assert {e.unit_id for e in entries} == set(results.units)
    built = {e.unit_id for e in reports.reports_to_build(session, wave_id)}
    assert built == {e.unit_id for e in entries if e.shown}
    contexts: dict[int, ReportContext] = {}
    hidden: set[int] = set()
    for entry in entries:
        if entry.shown:
            contexts[entry.unit_id] = reports.build_context(
                session, wave_id, entry.unit_id, min_jurisdictions=MIN_JURISDICTIONS, today=TODAY
            )
            continue
        hidden.add(entry.unit_id)
        with pytest.raises(reports.UnitSuppressed) as raised:
            reports.build_context(
                session, wave_id, entry.unit_id, min_jurisdictions=MIN_JURISDICTIONS
            )
        assert raised.value.included_in == entry.included_in
        with pytest.raises(reports.UnitSuppressed):
            reports.reports_to_build(session, wave_id, unit_path=entry.path)
    return Published(results.year, results, contexts, hidden)


def _counts(ctx: ReportContext) -> dict[tuple[str, str], int]:
    """Every published count of one report, keyed by (what, scale or item)."""
    # Straight-lining, blank and comment-only tallies are published for the whole wave only.
    out = {("responses", ""): ctx.responses}
    for scale in ctx.scales:
        if not scale.suppressed:
            out[("n", scale.key)] = scale.n
        for item in scale.items:
            out[("item_n", item.key)] = item.n
    return out


def _sums(ctx: ReportContext) -> dict[tuple[str, str], tuple[tuple[str, str], float]]:
    """Published sums an attacker can form, each with the count it belongs to."""
    out: dict[tuple[str, str], tuple[tuple[str, str], float]] = {}
    for scale in ctx.scales:
        if scale.mean is not None:
            out[("score_sum", scale.key)] = (("n", scale.key), scale.n * scale.mean)
        for item in scale.items:
            count = ("item_n", item.key)
            out[("positives", item.key)] = (count, item.n * item.pct_positive / 100.0)
            out[("negatives", item.key)] = (count, item.n * item.pct_negative / 100.0)
    return out


def _publishes(
    table: Mapping[int, Mapping[tuple[str, str], object]], key: tuple[str, str]
) -> Callable[[int], bool]:
    def shows(unit_id: int) -> bool:
        return key in table.get(unit_id, {})

    return shows


def subtraction_attacks(pub: Published) -> list[str]:
    """Every (parent − nearest published descendants) that isolates fewer than min n people."""
    found = []
    counts = {u: _counts(c) for u, c in pub.contexts.items()}
    sums = {u: _sums(c) for u, c in pub.contexts.items()}
    names = {u: pub.results.units[u].path or "(agency)" for u in pub.results.units}
    for parent, published in counts.items():
        for key, value in published.items():
            below = pub.frontier(parent, _publishes(counts, key))
            rest = value - sum(counts[c][key] for c in below)
            if 0 < rest < MIN_N or rest < 0:
                found.append(
                    f"{pub.year} {names[parent]} {key}: {value} − "
                    f"{[(names[c], counts[c][key]) for c in below]} = {rest}"
                )
        for key, (count_key, total) in sums[parent].items():
            below = pub.frontier(parent, _publishes(sums, key))
            rest_n = counts[parent][count_key] - sum(counts[c][count_key] for c in below)
            rest_sum = total - sum(sums[c][key][1] for c in below)
            if rest_n == 0 and abs(rest_sum) > 1e-6 * max(1.0, abs(total)):
                found.append(f"{pub.year} {names[parent]} {key}: n cancels, sum leaves {rest_sum}")
    return found


def comment_attacks(pub: Published) -> list[str]:
    """Every published comment list minus its nearest published lists below that leaves 1–9."""
    lists = {u: c.comments for u, c in pub.contexts.items() if c.comments}
    found = []
    for parent, comments in lists.items():
        below = pub.frontier(parent, lists.__contains__)
        rest = len(comments) - sum(len(lists[c]) for c in below)
        if 0 < rest < 10 or rest < 0:
            found.append(f"{pub.year} {pub.results.units[parent].path!r}: {rest} comments left")
    return found


@pytest.fixture(params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def world(request: pytest.FixtureRequest, session: Session) -> World:
    return build_world(session, request.param)


def test_no_hidden_unit_can_be_recovered_from_reports(
    session: Session, world: World, tmp_path: Path
) -> None:
    published = {year: publish(session, wave_id) for year, wave_id in world.waves.items()}
    others = {
        year: [
            (publish(session, wave_id) if shares else None, wave_id, shares)
            for wave_id, shares in ids
        ]
        for year, ids in world.others.items()
    }
    assert any(p.hidden for p in published.values()), "the tree exercises suppression"

    for year, pub in published.items():
        results = pub.results
        hidden_names = {results.units[u].name for u in pub.hidden}
        for unit_id, ctx in pub.contexts.items():
            # A hidden unit: named only as "included in" its parent, never with a number.
            for row in ctx.children:
                if row.unit_name in hidden_names and not any(
                    results.units[c].name == row.unit_name and c in pub.contexts
                    for c in pub.children(unit_id)
                ):
                    assert row.included_in == ctx.unit_name and not row.cells, row
            for rate in ctx.response_rates:
                if rate.included_in is not None:
                    assert (rate.responses, rate.invited, rate.response_rate) == (None,) * 3
            shown_children = {
                results.units[c].name: pub.contexts[c]
                for c in pub.children(unit_id)
                if c in pub.contexts
            }
            # The heatmap and response-rate table repeat the children's own published figures.
            for row in ctx.children:
                child = shown_children.get(row.unit_name)
                if child is not None:
                    for cell in row.cells:
                        assert cell.pct_positive == child.scale(cell.scale_key).pct_positive
            for rate in ctx.response_rates:
                child = shown_children.get(rate.unit_name)
                if child is not None:
                    assert rate.responses == child.responses
            assert not ctx.comments or len(ctx.comments) >= 10
            for scale in ctx.scales:
                if scale.suppressed:
                    assert scale.mean is None and scale.items == () and scale.trend is None
                    continue
                assert scale.n >= MIN_N
                assert all(item.n >= MIN_N for item in scale.items)

        assert subtraction_attacks(pub) == []
        assert comment_attacks(pub) == []

        # Across the years: a change only where the unit's scale is published in both, and
        # then it is the difference of the two published figures.
        earlier = published.get(year - 1)
        for unit_id, ctx in pub.contexts.items():
            before = None if earlier is None else earlier.contexts.get(unit_id)
            for scale in ctx.scales:
                if before is None or before.scale(scale.key).suppressed:
                    assert scale.trend is None, (year, unit_id, scale.key)
                    continue
                if scale.trend is None:
                    assert scale.trend_note == "no_previous_same_items" or scale.suppressed
                    continue
                previous = before.scale(scale.key).pct_positive
                assert previous is not None and scale.pct_positive is not None
                delta = scale.pct_positive - previous
                assert scale.trend.delta_points == pytest.approx(delta, abs=1e-9)

        _check_benchmarks(world, pub, others[year])

    _check_scoring_exports(session, world, tmp_path)


def _pct(ctx: ReportContext, scale_key: str) -> float:
    value = ctx.scale(scale_key).pct_positive
    assert value is not None
    return value


def _check_benchmarks(
    world: World, pub: Published, others: list[tuple[Published | None, int, bool]]
) -> None:
    """Benchmarks and ranks follow the publication's rule and name no one else.

    The worlds have 3 sharing jurisdictions (fewer than 5), whose contributions are the only
    national input: no national benchmark or rank may appear. A jurisdiction benchmark or rank
    appears only over at least 20 shown units of the kind, and then equals the percentiles of
    exactly those units' published figures.
    """
    units = pub.results.units
    root = next(u for u in units.values() if u.parent_id is None).id
    for ctx in pub.contexts.values():
        text = repr(ctx)
        for name in world.foreign_names:
            assert name not in text
        # Compared only with the one other jurisdiction that shares and could send figures:
        # not itself, not the one that keeps its figures, not the one of 3 people.
        assert ctx.national_jurisdictions == 1
        kind = ctx.unit_kind
        for scale in ctx.scales:
            assert scale.national_benchmark is None and scale.percentile_national is None
            local = sorted(
                c.scale(scale.key).pct_positive  # type: ignore[misc]
                for u, c in pub.contexts.items()
                if units[u].kind == kind and not c.scale(scale.key).suppressed
            )
            bench = scale.jurisdiction_benchmark
            if len(local) < 20:
                assert bench is None and scale.percentile_jurisdiction is None
            elif bench is not None:
                assert bench.n_teams == len(local)
                expected = np.percentile(local, [10, 25, 50, 75, 90], method="linear")
                got = [bench.p10, bench.p25, bench.p50, bench.p75, bench.p90]
                assert got == pytest.approx(list(expected), abs=1e-9)
            own = _item_row(pub.contexts.get(root), "")
            for item in scale.items:
                assert item.national_pct_positive is None
                own = _item_row(pub.contexts.get(root), item.key)
                if own is not None:
                    assert item.jurisdiction_pct_positive == pytest.approx(own.pct_positive)


def _item_row(ctx: ReportContext | None, key: str) -> reports.ItemRow | None:
    if ctx is None:
        return None
    return next((i for s in ctx.scales for i in s.items if i.key == key), None)


# --------------------------------------------------------------------------- CSV / JSON


def _export_frame(session: Session, wave_id: int, instrument: surveys.Instrument) -> pd.DataFrame:
    rows = session.execute(
        select(Response.unit_id, Response.answers).where(Response.wave_id == wave_id)
    ).all()
    records = [{"unit": f"u{u}", **{k: a.get(k) for k in instrument.item_keys}} for u, a in rows]
    return pd.DataFrame.from_records(records, columns=["unit", *instrument.item_keys])


def _check_scoring_exports(session: Session, world: World, tmp: Path) -> None:
    """The scoring CLI's JSON and CSV: suppressed units keep n only; the rest cannot isolate."""
    instrument = surveys.load_default()
    for year, wave_id in world.waves.items():
        responses = tmp / f"responses-{year}.csv"
        _export_frame(session, wave_id, instrument).to_csv(responses, index=False)
        outputs = {}
        for fmt in ("json", "csv"):
            target = tmp / f"scores-{year}.{fmt}"
            code = scoring_cli.main(
                [
                    "score", "--instrument", str(surveys.DEFAULT_INSTRUMENT_PATH),
                    "--responses", str(responses), "--min-n", str(MIN_N), "--item-units",
                    "--format", fmt, "--out", str(target),
                ]
            )  # fmt: skip
            assert code == 0
            outputs[fmt] = target.read_text(encoding="utf-8")
        data = json.loads(outputs["json"])
        for scale in data["scales"].values():
            _flat_check(scale["n"], scale["mean"], scale["units"], "mean")
        for item in data["items"].values():
            _flat_check(item["n"], item["pct_positive"], item["units"], "pct_positive")
        for row in csv.DictReader(io.StringIO(outputs["csv"])):
            if row["suppressed"] == "True":
                assert row["mean"] == row["pct_positive"] == row["ci_low"] == "", row


def _flat_check(
    total_n: int, overall: float | None, units: Mapping[str, Mapping[str, object]], stat: str
) -> None:
    shown = [u for u in units.values() if not u["suppressed"]]
    for u in units.values():
        if u["suppressed"]:
            assert u[stat] is None and u.get("pct_positive") is None
        else:
            assert isinstance(u["n"], int) and u["n"] >= MIN_N
    rest = total_n - sum(int(u["n"]) for u in shown)  # type: ignore[call-overload]
    if overall is not None:
        assert rest == 0 or rest >= MIN_N, (total_n, rest)


# --------------------------------------------------------------------------- the attack is real


def _primary_only(self: scoring.disclosure.UnitTree, direct: object, min_n: int) -> np.ndarray:
    """``UnitTree.hidden`` without complementary suppression: hide totals below min n only."""
    scoring.disclosure.check_min_n(min_n)
    total = np.append(np.asarray(direct, dtype=np.int64), 0).astype(np.float64)
    for level in self._levels:
        total += np.bincount(self._parent[level], weights=total[level], minlength=total.size)
    return total[: len(self.names)] < min_n


def test_primary_suppression_alone_lets_the_attack_through(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without complementary suppression, parent − shown children gives a tiny group's mean."""
    monkeypatch.setattr(scoring.disclosure.UnitTree, "hidden", _primary_only)
    for seed in SEEDS:
        world = build_world(session, seed)
        for wave_id in world.waves.values():
            pub = publish(session, wave_id)
            assert subtraction_attacks(pub) or not pub.hidden
            recovered = _recover_a_hidden_mean(pub)
            if recovered is not None:
                got, truth, n = recovered
                assert 0 < n < MIN_N
                assert got == pytest.approx(truth, abs=1e-6)
                return
    pytest.fail("no seed gave a subtraction to recover (the trees are too kind)")


def _recover_a_hidden_mean(pub: Published) -> tuple[float, float, int] | None:
    """The first (recovered mean, true mean, n) of a hidden remainder, from published numbers."""
    data = pub.results.data
    scores = scoring.score(
        data.frame.drop(columns=["comment"]), data.instrument, min_n=MIN_N
    ).respondent_scores
    units = pub.results.units
    for parent, ctx in pub.contexts.items():
        below = pub.frontier(parent, lambda u: u in pub.contexts)
        for scale in ctx.scales:
            rest_n = scale.n - sum(pub.contexts[c].scale(scale.key).n for c in below)
            if not 0 < rest_n < MIN_N or scale.mean is None:
                continue
            means = [pub.contexts[c].scale(scale.key).mean for c in below]
            if any(mean is None for mean in means):
                continue  # a child's mean is withheld: nothing to subtract
            rest_sum = scale.n * scale.mean
            for c, mean in zip(below, means, strict=True):
                assert mean is not None
                rest_sum -= pub.contexts[c].scale(scale.key).n * mean
            covered = {u for c in below for u in units if c in reports.ancestors(units, u)}
            inside = {u for u in units if parent in reports.ancestors(units, u)} - covered
            values = scores.loc[scores["unit"].isin({str(u) for u in inside}), scale.key]
            values = values.dropna()
            assert len(values) == rest_n
            return rest_sum / rest_n, float(values.mean()), rest_n
    return None


# --------------------------------------------------------------------------- the dashboard


def dashboard_counts(session: Session, world: World) -> tuple[list[str], list[str]]:
    """The admin dashboard's per-unit counts against its own rule and against the reports.

    Returns (invitee counts isolating fewer than min n, answered counts of units the reports
    hide or that isolate fewer than min n respondents).
    """
    invited_found: list[str] = []
    answered_found: list[str] = []
    for year, wave_id in world.waves.items():
        results = reports.wave_results(session, wave_id)
        by_path = {u.path: u.id for u in results.units.values()}
        board = waves.dashboard(session, None, wave_id)
        rows = {by_path[row.path]: row for row in board.units}
        pub = Published(year, results, {}, set())
        with_answers = {u for u, r in rows.items() if r.answered is not None}
        for unit_id, row in sorted(rows.items()):
            where = f"{year} {row.path or '(agency)'}"
            below = pub.frontier(unit_id, rows.__contains__)
            rest = row.invited - sum(rows[c].invited for c in below)
            if 0 < rest < MIN_N:
                invited_found.append(f"{where}: {row.invited} invited, {rest} below")
            if not results.shown(unit_id) and row.answered:
                answered_found.append(
                    f"{where}: hidden in the reports, dashboard shows {row.answered} answered "
                    f"of {row.invited} invited"
                )
            if row.answered is None:
                continue
            below = pub.frontier(unit_id, with_answers.__contains__)
            rest = row.answered - sum(rows[c].answered or 0 for c in below)
            if 0 < rest < MIN_N:
                answered_found.append(
                    f"{where}: {row.answered} answered − {[rows[c].answered for c in below]} "
                    f"shown below = {rest}"
                )
    return invited_found, answered_found


def test_dashboard_invitee_counts_cannot_be_subtracted(session: Session) -> None:
    """The dashboard's own promise: invitee counts of hidden units stay hidden."""
    for seed in SEEDS:
        invited, _ = dashboard_counts(session, build_world(session, seed))
        assert invited == [], seed


def test_dashboard_answered_counts_follow_the_report_suppression(session: Session) -> None:
    found = []
    for seed in SEEDS:
        _, answered = dashboard_counts(session, build_world(session, seed))
        found += [f"seed {seed}: {line}" for line in answered]
    assert found == []
