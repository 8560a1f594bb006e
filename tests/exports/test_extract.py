"""The research extract: no small unit, no small background cell, no order, labels that open."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from scipy.stats import spearmanr
from sqlalchemy import select
from sqlalchemy.orm import Session

import surveys
from app.demo_data import generate_answers, new_team_effects
from app.models import (
    AuditEvent,
    BackgroundCount,
    Jurisdiction,
    OrgUnit,
    Response,
    Role,
    UnitKind,
    User,
    Wave,
    WaveStatus,
)
from app.services import extract, sharing, users
from app.services.access import PermissionDenied
from app.services.instruments import ensure_instrument
from app.services.reports.publication import wave_results
from app.services.reports.results import UnitNode
from tests.admin.conftest import make_jurisdiction, make_user
from tests.reports.conftest import COMMENTS, SmallJurisdiction

MIN_N = 5


@dataclass(frozen=True)
class DemoWave:
    """A demo-like wave whose insertion ("submit") order the test remembers."""

    wave_id: int
    jurisdiction: Jurisdiction
    #: answer vector (NaN as -1) → position in the order the responses were stored
    submitted: dict[tuple[int, ...], int]
    unit_of: dict[tuple[int, ...], int]
    unit_path: dict[int, str]
    units: dict[int, UnitNode]
    counts: dict[int, int]


def _key(values: list[float] | np.ndarray) -> tuple[int, ...]:
    return tuple(-1 if pd.isna(v) else int(v) for v in values)


@pytest.fixture
def demo(session: Session) -> DemoWave:
    """Agency → 3 regions → 2 offices → 3 teams; team sizes from 0 to 14, staff at offices."""
    instrument = surveys.load_default()
    row = ensure_instrument(session, instrument)
    jurisdiction = Jurisdiction(name="River State", slug="river-extract")
    session.add(jurisdiction)
    session.flush()
    agency = OrgUnit(jurisdiction_id=jurisdiction.id, name="River", path="", kind=UnitKind.AGENCY)
    session.add(agency)
    rng = np.random.default_rng(11)
    places: list[OrgUnit] = []
    for r in range(3):
        region = OrgUnit(
            jurisdiction_id=jurisdiction.id,
            parent=agency,
            name=f"Region {r + 1}",
            path=f"Region {r + 1}",
            kind=UnitKind.REGION,
        )
        session.add(region)
        for o in range(2):
            office = OrgUnit(
                jurisdiction_id=jurisdiction.id,
                parent=region,
                name=f"Office {o + 1}",
                path=f"{region.path} / Office {o + 1}",
                kind=UnitKind.OFFICE,
            )
            session.add(office)
            places.append(office)
            for t in range(3):
                team = OrgUnit(
                    jurisdiction_id=jurisdiction.id,
                    parent=office,
                    name=f"Team {t + 1}",
                    path=f"{office.path} / Team {t + 1}",
                    kind=UnitKind.TEAM,
                )
                session.add(team)
                places.append(team)
    session.flush()
    sizes = [
        int(rng.integers(0, 4)) if p.kind == UnitKind.OFFICE else int(rng.integers(0, 15))
        for p in places
    ]
    unit_row = np.array([i for i, n in enumerate(sizes) for _ in range(n)])
    wave = Wave(
        jurisdiction_id=jurisdiction.id,
        instrument_id=row.id,
        year=2026,
        opens_at=datetime(2026, 11, 1, tzinfo=UTC),
        closes_at=datetime(2026, 12, 1, tzinfo=UTC),
        status=WaveStatus.CLOSED,
        min_report_n=MIN_N,
    )
    session.add(wave)
    session.flush()
    effects = new_team_effects(instrument, len(places), rng)
    answers = generate_answers(instrument, unit_row, effects, rng)
    submitted: dict[tuple[int, ...], int] = {}
    unit_of: dict[tuple[int, ...], int] = {}
    for position, (place_row, values) in enumerate(zip(unit_row, answers, strict=True)):
        key = _key(values)
        submitted[key] = position
        unit_of[key] = places[int(place_row)].id
        session.add(
            Response(
                wave_id=wave.id,
                unit_id=places[int(place_row)].id,
                answers={
                    k: int(v)
                    for k, v in zip(instrument.item_keys, values, strict=True)
                    if not np.isnan(v)
                },
                comment=COMMENTS[position % len(COMMENTS)] if position % 2 == 0 else None,
            )
        )
        session.flush()  # one by one: the database's own order is the submit order
    everything = [
        agency,
        *session.scalars(
            select(OrgUnit).where(
                OrgUnit.jurisdiction_id == jurisdiction.id, OrgUnit.id != agency.id
            )
        ),
    ]
    parent = {u.id: u.parent_id for u in everything}

    def depth(unit_id: int) -> int:
        d, up = 0, parent[unit_id]
        while up is not None:
            d, up = d + 1, parent[up]
        return d

    nodes = {
        u.id: UnitNode(u.id, u.name, u.path, str(u.kind), u.parent_id, depth(u.id))
        for u in everything
    }
    counts: dict[int, int] = {}
    for unit_id in unit_of.values():
        counts[unit_id] = counts.get(unit_id, 0) + 1
    sharing.set_level(session, None, wave.id, "research_extract", reference="DSA-2026-7")
    session.commit()
    return DemoWave(
        wave.id,
        jurisdiction,
        submitted,
        unit_of,
        {u.id: u.path for u in everything},
        nodes,
        counts,
    )


def _steward(session: Session, jurisdiction: Jurisdiction, email: str) -> User:
    user = make_user(session, email, Role.JURISDICTION_ADMIN, jurisdiction)
    users.set_data_steward(session, None, user.id, True)
    return user


def _read_csv(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


# --- coarsening ------------------------------------------------------------------------------


def _is_at_or_above(units: dict[int, UnitNode], unit_id: int, label: int) -> bool:
    if label == extract.WHOLE_JURISDICTION:
        return True
    up: int | None = unit_id
    while up is not None:
        if up == label:
            return True
        up = units[up].parent_id
    return False


def test_every_unit_label_of_the_demo_wave_is_a_shown_unit_with_at_least_the_threshold(
    session: Session, demo: DemoWave
) -> None:
    small_units = [u for u, n in demo.counts.items() if n < MIN_N]
    assert small_units, "the demo wave has units below the threshold"
    built = extract.build_extract(session, demo.wave_id)
    codes = built.frame["unit_group"].value_counts()
    assert codes.min() >= MIN_N
    assert {g.code: g.respondents for g in built.groups} == codes.to_dict()
    assert sum(g.respondents for g in built.groups) == len(built.frame)
    assert len(built.frame) + built.left_out == len(demo.submitted)
    # Each row is labelled as the reports treat its unit: its own report where it has one, else
    # the report that includes it.
    results = wave_results(session, demo.wave_id)
    expected_label = {}
    for unit in demo.counts:
        if results.shown(unit):
            expected_label[unit] = demo.unit_path[unit]
        else:
            above = results.included_in(unit)
            assert above is not None  # the agency is shown in this wave
            expected_label[unit] = above.path
    assert any(not results.shown(u) for u in demo.counts)
    label_of = {g.code: g.path for g in built.groups}
    items = list(built.frame.columns[2:])
    for record in built.frame.itertuples(index=False):
        key = _key([getattr(record, k) for k in items])
        assert label_of[record.unit_group] == expected_label[demo.unit_of[key]]
    assert all(results.shown(u) for u, p in demo.unit_path.items() if p in label_of.values())


@pytest.mark.parametrize("seed", range(30))
def test_coarsening_of_random_trees_never_leaves_a_small_label(seed: int) -> None:
    rng = np.random.default_rng(seed)
    units: dict[int, UnitNode] = {}
    tops = int(rng.integers(1, 3))
    next_id = 1
    frontier: list[tuple[int | None, int]] = [(None, 0)] * tops
    while frontier and next_id < 40:
        parent, depth = frontier.pop(0)
        units[next_id] = UnitNode(next_id, f"u{next_id}", f"p{next_id}", "team", parent, depth)
        for _ in range(int(rng.integers(0, 4)) if depth < 3 else 0):
            frontier.append((next_id, depth + 1))
        next_id += 1
    counts = {u: int(rng.integers(0, 9)) for u in units if rng.random() < 0.8}
    counts = {u: n for u, n in counts.items() if n}
    shown = {u for u in units if rng.random() < 0.6}
    if sum(counts.values()) < MIN_N:
        with pytest.raises(extract.ExtractError):
            extract.coarsen_units(units, counts, MIN_N, shown)
        return
    label = extract.coarsen_units(units, counts, MIN_N, shown)
    rows: dict[int, int] = {}
    for unit, target in label.items():
        rows[target] = rows.get(target, 0) + counts[unit]
        assert _is_at_or_above(units, unit, target)
        assert target in shown or target == extract.WHOLE_JURISDICTION
    assert min(rows.values()) >= MIN_N
    left_out = sum(n for u, n in counts.items() if u not in label)
    assert left_out < MIN_N
    if left_out:
        assert extract.WHOLE_JURISDICTION not in label.values()


# --- background and comments -----------------------------------------------------------------


def test_no_background_cell_below_the_threshold_and_no_comment(
    session: Session, demo: DemoWave
) -> None:
    # Role: one option with 3 answers hides the whole question; tenure: every cell is big.
    for question, counts in (("role", (20, 40, 3, 12, 9, 0)), ("tenure", (10, 30, 25, 15, 7))):
        for option, count in enumerate(counts):
            session.add(
                BackgroundCount(
                    wave_id=demo.wave_id,
                    question=question,
                    option=option,
                    jurisdiction_id=demo.jurisdiction.id,
                    count=count,
                )
            )
    session.commit()
    steward = _steward(session, demo.jurisdiction, "steward@river.example")
    for fmt in extract.FORMATS:
        built, files = extract.export_extract(session, steward, demo.wave_id, fmt)
        background = _read_csv(files["background.csv"])
        role = [r for r in background if r["question"] == "role"]
        tenure = [r for r in background if r["question"] == "tenure"]
        assert role and all(r["count"] == "" and "fewer than 5" in r["note"] for r in role)
        assert [int(r["count"]) for r in tenure] == [10, 30, 25, 15, 7]
        for r in background:
            assert r["count"] == "" or int(r["count"]) == 0 or int(r["count"]) >= MIN_N
        everything = b"".join(files.values())
        for comment in COMMENTS:
            assert comment.encode() not in everything
            assert comment[:20].encode() not in everything
        assert "comment" not in built.frame.columns


# --- order -----------------------------------------------------------------------------------


def test_row_order_is_unrelated_to_submit_order_id_order_and_unit(
    session: Session, demo: DemoWave
) -> None:
    assert len(set(demo.submitted)) == sum(demo.counts.values())  # answer vectors are unique
    by_id = [
        _key([answers.get(k, np.nan) for k in surveys.load_default().item_keys])
        for answers in session.scalars(
            select(Response.answers).where(Response.wave_id == demo.wave_id).order_by(Response.id)
        )
    ]
    id_rank = {key: i for i, key in enumerate(by_id)}
    rhos: dict[str, list[float]] = {"submit": [], "id": [], "unit": []}
    orders = []
    for _ in range(30):
        built = extract.build_extract(session, demo.wave_id)
        keys = [_key(list(r)) for r in built.frame.iloc[:, 2:].itertuples(index=False)]
        position = np.arange(len(keys))
        orders.append(keys)
        rhos["submit"].append(spearmanr(position, [demo.submitted[k] for k in keys])[0])
        rhos["id"].append(spearmanr(position, [id_rank[k] for k in keys])[0])
        rhos["unit"].append(spearmanr(position, built.frame["unit_group"])[0])
    n = len(orders[0])
    for name, values in rhos.items():
        # Under independence each rho has sd ≈ 1/sqrt(n-1); the mean of 30 far less.
        assert abs(float(np.mean(values))) < 3 / np.sqrt(30 * (n - 1)), name
        assert max(abs(v) for v in values) < 5 / np.sqrt(n - 1), name
    assert len({tuple(o) for o in orders}) == len(orders)  # every build has its own order
    assert all(sorted(o) == sorted(orders[0]) for o in orders)  # the same rows each time
    # The row number is 1..n after shuffling: it says nothing either.
    assert built.frame["row"].tolist() == list(range(1, n + 1))


# --- formats ---------------------------------------------------------------------------------


def _codebook(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    return {r["variable"]: r for r in _read_csv(files["codebook.csv"])}


def _values(text: str) -> dict[int, str]:
    out = {}
    for part in text.split("; "):
        code, _, label = part.partition("=")
        out[int(code)] = label
    return out


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_statistical_files_open_in_pyreadstat_with_the_codebooks_labels(
    session: Session, demo: DemoWave, tmp_path: Path, fmt: str
) -> None:
    steward = _steward(session, demo.jurisdiction, "steward@river.example")
    built, files = extract.export_extract(session, steward, demo.wave_id, fmt)
    path = tmp_path / f"extract.{fmt}"
    path.write_bytes(files[f"extract.{fmt}"])
    frame, meta = (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path))
    codebook = _codebook(files)
    assert list(frame.columns) == list(codebook)
    assert len(frame) == len(demo.submitted)
    limit = 80 if fmt == "dta" else None
    for name, entry in codebook.items():
        label = entry["label"].removeprefix("'")
        assert meta.column_names_to_labels[name] == (
            label if limit is None else label[:limit].rstrip()
        )
        if entry["values"]:
            labels = {int(k): v for k, v in meta.variable_value_labels[name].items()}
            assert labels == _values(entry["values"])
    # Same data as the CSV of another build, row for row once sorted (the order is new each time).
    pd.testing.assert_frame_equal(
        frame.drop(columns="row").sort_values(list(frame.columns[1:])).reset_index(drop=True),
        built.frame.drop(columns="row")
        .astype("float64")
        .sort_values(list(frame.columns[1:]))
        .reset_index(drop=True),
        check_dtype=False,
    )


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_the_r_script_reads_the_csv_extract(
    session: Session, demo: DemoWave, tmp_path: Path
) -> None:
    steward = _steward(session, demo.jurisdiction, "steward@river.example")
    built, files = extract.export_extract(session, steward, demo.wave_id, "csv")
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    probe = tmp_path / "probe.R"
    probe.write_text(
        'source("read_extract.R")\n'
        'cat(nrow(extract), nlevels(extract$unit_group), attr(extract$ps1, "label"),\n'
        '    sum(is.na(extract$ps1)), min(table(extract$unit_group)), sep = "|")\n'
    )
    result = subprocess.run(
        ["Rscript", "--vanilla", str(probe)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    last = result.stdout.strip().splitlines()[-1]
    rows, levels, label, missing, smallest = last.split("|")
    assert int(rows) == len(built.frame)
    assert int(levels) == len(built.groups)
    assert label == _codebook(files)["ps1"]["label"]
    assert int(missing) == int(built.frame["ps1"].isna().sum())
    assert int(smallest) >= MIN_N


# --- who may have it -------------------------------------------------------------------------


def test_extract_is_refused_and_audited_outside_the_stewards_own_waves(
    session: Session, demo: DemoWave
) -> None:
    plain_admin = make_user(
        session, "admin@river.example", Role.JURISDICTION_ADMIN, demo.jurisdiction
    )
    other = make_jurisdiction(session, "hill-extract", "Hill County")
    outsider = _steward(session, other, "steward@hill.example")
    national = make_user(session, "nat@x.example", Role.NATIONAL)
    for actor in (plain_admin, outsider, national):
        with pytest.raises(PermissionDenied):
            extract.export_extract(session, actor, demo.wave_id, "csv")
    with pytest.raises(PermissionDenied):
        extract.export_extract(session, outsider, demo.wave_id + 999, "sav")
    denied = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "extract.denied").order_by(AuditEvent.id)
    ).all()
    assert [e.actor for e in denied] == [
        "admin@river.example",
        "steward@hill.example",
        "nat@x.example",
        "steward@hill.example",
    ]
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == "extract.export")).all() == []
    )


def test_extract_needs_the_research_level_and_a_closed_wave(
    session: Session, demo: DemoWave
) -> None:
    steward = _steward(session, demo.jurisdiction, "steward@river.example")
    sharing.set_level(session, None, demo.wave_id, "psychometric", reference="DSA-2026-7")
    with pytest.raises(extract.ExtractNotAllowed, match="psychometric"):
        extract.export_extract(session, steward, demo.wave_id, "dta")
    with pytest.raises(extract.ExtractNotAllowed):
        extract.export_extract(session, None, demo.wave_id, "csv")  # the CLI too
    reasons = session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "extract.denied")
    ).all()
    assert [r["reason"] for r in reasons] == ["sharing level is psychometric"] * 2
    sharing.set_level(session, None, demo.wave_id, "research_extract", reference="DSA-2026-8")
    wave = session.get(Wave, demo.wave_id)
    assert wave is not None
    wave.status = WaveStatus.OPEN
    session.commit()
    with pytest.raises(extract.ExtractError, match="still open"):
        extract.export_extract(session, steward, demo.wave_id, "csv")


def test_export_is_audited_with_its_size_and_never_its_content(
    session: Session, demo: DemoWave
) -> None:
    steward = _steward(session, demo.jurisdiction, "steward@river.example")
    built, _ = extract.export_extract(session, steward, demo.wave_id, "sav")
    extract.export_extract(session, None, demo.wave_id, "csv")
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "extract.export").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor, e.detail["format"]) for e in events] == [
        ("steward@river.example", "sav"),
        ("cli", "csv"),
    ]
    assert events[0].detail["rows"] == len(built.frame)
    assert events[0].detail["unit_groups"] == len(built.groups)
    assert all(e.jurisdiction_id == demo.jurisdiction.id for e in events)


def test_only_another_administrator_grants_stewardship(session: Session, demo: DemoWave) -> None:
    first = make_user(session, "one@river.example", Role.JURISDICTION_ADMIN, demo.jurisdiction)
    second = make_user(session, "two@river.example", Role.JURISDICTION_ADMIN, demo.jurisdiction)
    leader = make_user(session, "lead@river.example", Role.LEADER, demo.jurisdiction, ("Region 1",))
    other = make_user(
        session,
        "admin@hill.example",
        Role.JURISDICTION_ADMIN,
        make_jurisdiction(session, "hill-stewards", "Hill County"),
    )
    with pytest.raises(PermissionDenied):
        users.set_data_steward(session, first, first.id, True)  # never oneself
    with pytest.raises(PermissionDenied):
        users.set_data_steward(session, other, first.id, True)  # never from elsewhere
    with pytest.raises(users.UserError):
        users.set_data_steward(session, first, leader.id, True)  # administrators only
    users.set_data_steward(session, second, first.id, "1")
    assert first.data_steward
    users.set_data_steward(session, second, first.id, "0")
    assert not first.data_steward
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.like("user.steward%"))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["user.steward_grant", "user.steward_revoke"]


def test_zip_bundle_holds_the_files_under_one_folder(session: Session, demo: DemoWave) -> None:
    steward = _steward(session, demo.jurisdiction, "steward@river.example")
    built, files = extract.export_extract(session, steward, demo.wave_id, "csv")
    name = extract.bundle_name(built, "csv")
    archive = zipfile.ZipFile(io.BytesIO(extract.to_zip(files, name)))
    assert sorted(archive.namelist()) == sorted(f"{name}/{f}" for f in files)
    assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_team_hidden_to_protect_a_smaller_sibling_stays_hidden_in_the_extract(
    session: Session, small: SmallJurisdiction
) -> None:
    """Office A's teams of 8, 7 and 2: the reports hide the 7 as well, so the 2 cannot be had by
    subtracting Office A's published figures; the extract must not give the 7 its own label."""
    sharing.set_level(session, None, small.waves[2026], "research_extract", reference="DSA-1")
    built = extract.build_extract(session, small.waves[2026])
    by_path = {g.path: g.respondents for g in built.groups}
    assert by_path == {
        "Office A / Team 1": 8,
        "Office A": 7 + 2,
        "Office B / Team 1": 9,
        "Office B / Team 2": 6,
        "Office B / Team 3": 6,
    }
    assert built.left_out == 0


def test_the_scoring_cli_scores_the_csv_extract_by_unit_group(
    session: Session, small: SmallJurisdiction, tmp_path: Path
) -> None:
    sharing.set_level(session, None, small.waves[2026], "research_extract", reference="DSA-1")
    built, files = extract.export_extract(session, None, small.waves[2026], "csv")
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scoring",
            "score",
            "--instrument",
            str(Path(surveys.__file__).parent / "team-safety-culture.yaml"),
            "--responses",
            str(tmp_path / "extract.csv"),
            "--unit-column",
            "unit_group",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    per_unit = {
        r["unit"]: int(r["n"])
        for r in rows
        if r["level"] == "scale_unit" and r["scale"] == "psychological_safety"
    }
    assert per_unit == {str(g.code): g.respondents for g in built.groups}


def test_a_role_change_ends_the_stewardship(session: Session, demo: DemoWave) -> None:
    from app.services import accounts

    steward = _steward(session, demo.jurisdiction, "steward@river.example")
    accounts.set_role(session, None, steward.id, "leader")
    accounts.set_role(session, None, steward.id, "jurisdiction_admin")
    assert not steward.data_steward
    with pytest.raises(PermissionDenied):
        extract.export_extract(session, steward, demo.wave_id, "csv")
