"""Two jurisdiction instances on their own databases export signed contributions; a third
(national) instance verifies and imports them, and refuses every kind of bad file."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import scoring
import surveys
from app.db import make_engine
from app.migrate import upgrade
from app.models import ReceivedContribution, Response
from app.reporting import ReportContext, render_html
from app.services import benchmarks, contributions, reports, sharing
from app.services.reports.publication import own_publication
from app.services.reports.results import load_wave
from tests.conftest import make_test_app

from .conftest import seed_wave


@dataclass
class Instance:
    app: Flask
    engine: Engine

    def run(self, *args: str) -> tuple[int, str]:
        result = self.app.test_cli_runner().invoke(args=list(args))
        return result.exit_code, result.output

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


def _instance(tmp_path: Path, name: str) -> Instance:
    engine = make_engine(f"sqlite:///{tmp_path / f'{name}.sqlite3'}")
    upgrade(engine)
    return Instance(make_test_app(engine, tmp_path / name), engine)


@dataclass
class World:
    lake: Instance
    hill: Instance
    nation: Instance
    files: dict[str, Path]
    keys: dict[str, Path]
    waves: dict[str, int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    tmp = tmp_path_factory.mktemp("instances")
    out = World(
        _instance(tmp, "lake"), _instance(tmp, "hill"), _instance(tmp, "nation"), {}, {}, {}
    )
    for slug, inst, seed in (("lake", out.lake, 1), ("hill", out.hill, 2)):
        with inst.session() as session:
            _, wave = seed_wave(session, slug, teams=10, per_team=9, seed=seed)
            sharing.set_level(session, None, wave.id, "psychometric", reference=f"DSA-{slug}")
            contributions.approve_contribution(session, None, wave.id)
            out.waves[slug] = wave.id
        key = tmp / f"{slug}.pem"
        code, text = inst.run("national", "keygen", "--jurisdiction", slug, "--key", str(key))
        assert code == 0, text
        public = text.split("public key of " + slug + ": ")[1].split()[0]
        code, text = out.nation.run("national", "trust-key", "--jurisdiction", slug, public)
        assert code == 0, text
        target = tmp / f"{slug}.contribution.json"
        code, text = inst.run(
            "national", "export-contribution", str(wave.id), "--out", str(target), "--key", str(key)
        )
        assert code == 0, text
        out.files[slug], out.keys[slug] = target, key
    return out


def _received(nation: Instance) -> int:
    with nation.session() as session:
        return int(session.scalar(select(func.count()).select_from(ReceivedContribution)) or 0)


def _rows(inst: Instance) -> pd.DataFrame:
    """The jurisdiction's raw rows, reverse-scored: what the nation never gets, for checking."""
    instrument = surveys.load_default()
    with inst.session() as session:
        answers = session.scalars(select(Response.answers)).all()
    frame = pd.DataFrame(list(answers), columns=list(instrument.item_keys), dtype=np.float64)
    for scale in instrument.scales:
        for item in scale.items:
            if item.reverse:
                frame[item.key] = scale.response_scale.points + 1 - frame[item.key]
    return frame


def _resign(payload: dict, key: Ed25519PrivateKey) -> bytes:  # type: ignore[type-arg]
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return json.dumps(
        {
            "format": contributions.FILE_FORMAT,
            "payload": payload,
            "public_key": base64.b64encode(public).decode(),
            "signature": base64.b64encode(key.sign(contributions.canonical(payload))).decode(),
        }
    ).encode()


def _key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _refused(world: World, tmp_path: Path, data: bytes, expected: str) -> None:
    before = _received(world.nation)
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    code, text = world.nation.run("national", "import-contribution", str(path))
    assert code == 2
    assert text.count("\n") == 1 and text.startswith("refused:"), text
    assert expected in text
    assert _received(world.nation) == before


def test_round_trip_into_the_national_instance_equals_statistics_on_the_pooled_rows(
    world: World,
) -> None:
    for slug in ("lake", "hill"):
        code, text = world.nation.run("national", "import-contribution", str(world.files[slug]))
        assert code == 0, text
        assert f"of {slug} (2026, psychometric)" in text
    with world.nation.session() as session:
        received = contributions.list_received(session)
        # The national database holds no response at all, only what the files said.
        assert session.scalar(select(func.count()).select_from(Response)) == 0
    said = {json.loads(world.files[s].read_text())["payload"]["id"]: s for s in world.files}
    assert {r.contribution_id: r.jurisdiction_slug for r in received} == said
    for r in received:
        assert r.payload == json.loads(world.files[r.jurisdiction_slug].read_text())["payload"]

    nation = contributions.national_statistics(received)
    assert nation is not None
    pooled = pd.concat([_rows(world.lake), _rows(world.hill)], ignore_index=True)
    instrument = surveys.load_default()
    assert nation.combined().respondents == len(pooled) == 180
    for scale in instrument.scales:
        ours = scoring.reliability_from_moments(nation.combined().scales[scale.key])
        theirs = scoring.reliability(pooled[list(scale.item_keys)].dropna())
        assert ours.alpha == pytest.approx(theirs.alpha, abs=1e-9)
        assert ours.omega_total == pytest.approx(theirs.omega_total, abs=1e-9)
    m = nation.combined().instrument
    factors = {s.key: list(s.item_keys) for s in instrument.scales}
    fit = scoring.cfa_fit_from_moments(m.n, m.covariance(ddof=0), m.items, factors)
    on_rows = scoring.cfa_fit(pooled, factors)
    assert fit.n == on_rows.n and fit.df == on_rows.df
    assert fit.cfi == pytest.approx(on_rows.cfi, abs=1e-9)
    assert fit.chi2 == pytest.approx(on_rows.chi2, rel=1e-9)


def test_the_national_instances_psychometric_report_equals_the_pooled_rows(
    world: World,
) -> None:
    from app.services import national_report

    for slug in ("lake", "hill"):  # imported by the round trip above, or here when run alone
        world.nation.run("national", "import-contribution", str(world.files[slug]))
    with world.nation.session() as session:
        report = national_report.build_national_report(session, None)
    assert report.empty_reason == ""
    assert [p.name for p in report.participants] == ["Hill County", "Lake County"]
    assert all(p.included and p.responses == 90 for p in report.participants)
    pooled = pd.concat([_rows(world.lake), _rows(world.hill)], ignore_index=True)
    instrument = surveys.load_default()
    nation = {r.scale: r for r in report.reliability if r.group == national_report.NATION}
    for scale in instrument.scales:
        theirs = scoring.reliability(pooled[list(scale.item_keys)].dropna())
        ours = nation[scale.title["en"]]
        assert ours.n == theirs.n_complete
        assert ours.alpha == pytest.approx(theirs.alpha, abs=1e-9)
        assert ours.omega == pytest.approx(theirs.omega_total, abs=1e-9)


def test_a_replayed_file_is_refused(world: World, tmp_path: Path) -> None:
    data = world.files["lake"].read_bytes()
    path = tmp_path / "once.json"
    path.write_bytes(data)
    world.nation.run("national", "import-contribution", str(path))  # may already be in
    _refused(world, tmp_path, data, "already imported")


def test_a_truncated_file_is_refused(world: World, tmp_path: Path) -> None:
    data = world.files["hill"].read_bytes()
    _refused(world, tmp_path, data[: len(data) // 2], "truncated")


def test_a_changed_number_breaks_the_signature(world: World, tmp_path: Path) -> None:
    document = json.loads(world.files["hill"].read_text())
    document["payload"]["id"] = "00000000-0000-4000-8000-000000000001"  # not a replay
    document["payload"]["wave"]["responses"] += 1
    _refused(world, tmp_path, json.dumps(document).encode(), "signature does not match")


def test_a_file_re_signed_with_another_jurisdictions_key_is_refused(
    world: World, tmp_path: Path
) -> None:
    payload = json.loads(world.files["lake"].read_text())["payload"]
    payload["id"] = "00000000-0000-4000-8000-000000000002"
    _refused(world, tmp_path, _resign(payload, _key(world.keys["hill"])), "key of hill")


def test_a_file_signed_by_an_unknown_key_is_refused(world: World, tmp_path: Path) -> None:
    payload = json.loads(world.files["lake"].read_text())["payload"]
    payload["id"] = "00000000-0000-4000-8000-000000000003"
    _refused(world, tmp_path, _resign(payload, Ed25519PrivateKey.generate()), "unknown key")


def test_a_file_for_an_unknown_instrument_version_is_refused(world: World, tmp_path: Path) -> None:
    payload = json.loads(world.files["lake"].read_text())["payload"]
    payload["id"] = "00000000-0000-4000-8000-000000000004"
    payload["instrument"]["version"] = "1999.9"
    _refused(world, tmp_path, _resign(payload, _key(world.keys["lake"])), "unknown instrument")


def test_rows_smuggled_into_a_signed_file_are_refused(world: World, tmp_path: Path) -> None:
    payload = json.loads(world.files["lake"].read_text())["payload"]
    payload["id"] = "00000000-0000-4000-8000-000000000005"
    payload["rows"] = [{"ps1": 4}]
    _refused(world, tmp_path, _resign(payload, _key(world.keys["lake"])), "unexpected content")


def test_export_without_approval_or_after_withdrawal_says_why(world: World, tmp_path: Path) -> None:
    with world.lake.session() as session:
        sharing.set_level(session, None, world.waves["lake"], "benchmark", reference="DSA-lake b")
    code, text = world.lake.run(
        "national",
        "export-contribution",
        str(world.waves["lake"]),
        "--out",
        str(tmp_path / "x.json"),
        "--key",
        str(world.keys["lake"]),
    )
    assert code == 2 and "lowered after approval" in text
    assert not (tmp_path / "x.json").exists()


def _shown_teams(inst: Instance, wave_id: int, scale: str) -> list[float]:
    """A jurisdiction's shown team figures, read from its own publication on its own server."""
    with inst.app.app_context(), inst.session() as session:
        pub = own_publication(load_wave(session, wave_id))
    return [
        float(u.scales[scale].pct_positive)  # type: ignore[arg-type]
        for u in pub.units.values()
        if u.shown and u.kind == "team" and u.scales[scale].shown
    ]


@pytest.fixture(scope="module")
def hosted(world: World) -> dict[str, int]:
    """Four jurisdictions hosted by the national deployment itself, sharing benchmarks there,
    beside the two imported files (imported here once, if an earlier test has not)."""
    local: dict[str, int] = {}
    with world.nation.session() as session:
        for index, slug in enumerate(("ash", "oak", "yew", "elm")):
            _, wave = seed_wave(session, slug, teams=8, per_team=9, seed=20 + index)
            sharing.set_level(session, None, wave.id, "benchmark", reference=f"DSA-{slug}")
            contributions.approve_contribution(session, None, wave.id)
            local[slug] = wave.id
    for slug in ("lake", "hill"):
        world.nation.run("national", "import-contribution", str(world.files[slug]))
    return local


def _ash_report(world: World, local: dict[str, int]) -> ReportContext:
    with world.nation.app.app_context(), world.nation.session() as session:
        team = session.scalars(
            select(Response.unit_id).where(Response.wave_id == local["ash"]).limit(1)
        ).one()
        return reports.build_context(session, local["ash"], team)


def test_a_report_on_the_national_instance_compares_with_the_imported_figures(
    world: World, hosted: dict[str, int]
) -> None:
    local = hosted
    ctx = _ash_report(world, local)
    # The comparison of Ash is the two imported files and the three other local jurisdictions.
    assert ctx.national_jurisdictions == 5
    others = [(world.lake, world.waves["lake"]), (world.hill, world.waves["hill"])]
    others += [(world.nation, local[slug]) for slug in ("oak", "yew", "elm")]
    instrument = surveys.load_default()
    compared = 0
    for scale in instrument.scales:
        values = [v for inst, wave_id in others for v in _shown_teams(inst, wave_id, scale.key)]
        bench = ctx.scale(scale.key).national_benchmark
        if bench is None:
            assert ctx.scale(scale.key).national_benchmark_note == "benchmark_reveals_jurisdiction"
            continue
        compared += 1
        assert bench.n_teams == len(values) and bench.n_jurisdictions == 5
        got = [bench.p10, bench.p25, bench.p50, bench.p75, bench.p90]
        expected = np.percentile(values, [10, 25, 50, 75, 90], method="linear")
        assert got == pytest.approx(list(expected), abs=1e-9)
    assert compared > 0
    with world.nation.app.app_context(), world.nation.session() as session:
        view = benchmarks.national_benchmarks(session, year=2026)
    # The coordinator's view counts all six: lake, hill, ash, oak, yew and elm.
    assert view is not None and view.sources.jurisdictions == 6
    shown = [c for c in view.cells if c.shown]
    assert shown
    for cell in shown:
        values = (
            _shown_teams(world.lake, world.waves["lake"], cell.scale)
            + _shown_teams(world.hill, world.waves["hill"], cell.scale)
            + [v for slug in local for v in _shown_teams(world.nation, local[slug], cell.scale)]
        )
        assert cell.n_units == len(values)
        got = [cell.p10, cell.p25, cell.p50, cell.p75, cell.p90]
        assert got == pytest.approx(
            list(np.percentile(values, [10, 25, 50, 75, 90], method="linear")), abs=1e-9
        )


def test_a_signed_file_with_figures_the_publication_hides_is_refused(
    world: World, tmp_path: Path
) -> None:
    payload = json.loads(world.files["lake"].read_text())["payload"]
    payload["id"] = "00000000-0000-4000-8000-000000000006"
    scale = next(iter(payload["benchmark"]["units"]["team"]))
    payload["benchmark"]["units"]["team"][scale].append([12.5, 2])
    _refused(world, tmp_path, _resign(payload, _key(world.keys["lake"])), "below the minimum")


def test_a_signed_file_with_an_unknown_benchmark_version_is_refused(
    world: World, tmp_path: Path
) -> None:
    payload = json.loads(world.files["hill"].read_text())["payload"]
    payload["id"] = "00000000-0000-4000-8000-000000000007"
    payload["benchmark"]["format"] = "safety-culture-benchmark/0"
    _refused(world, tmp_path, _resign(payload, _key(world.keys["hill"])), "unknown format")


def test_a_remote_withdrawal_leaves_the_next_national_report_without_it_and_says_so(
    world: World, hosted: dict[str, int], tmp_path: Path
) -> None:
    assert _ash_report(world, hosted).national_jurisdictions == 5
    with world.hill.session() as session:
        sharing.set_level(session, None, world.waves["hill"], "none")
    notice = tmp_path / "hill-withdrawal.json"
    code, text = world.hill.run(
        "national",
        "export-withdrawal",
        str(world.waves["hill"]),
        "--out",
        str(notice),
        "--key",
        str(world.keys["hill"]),
    )
    assert code == 0, text
    # Nothing but ids, the level and the year leaves with it.
    said = json.loads(notice.read_text())["payload"]
    assert set(said) == {"format", "id", "jurisdiction", "wave", "level", "withdraws"}
    code, text = world.nation.run("national", "import-withdrawal", str(notice))
    assert code == 0 and "withdrew 1 contribution(s) of hill" in text, text
    after = _ash_report(world, hosted)
    assert after.national_jurisdictions == 4
    assert len(after.national_withdrawals) == 1
    html = render_html(after)
    assert "withdrew its figures on" in html and "Hill" not in html
    with world.nation.session() as session:
        received = contributions.list_received(session)
        assert "hill" not in {r.jurisdiction_slug for r in received}
        assert contributions.national_statistics(received) is not None  # lake still counts
    # Replaying the notice changes nothing.
    code, text = world.nation.run("national", "import-withdrawal", str(notice))
    assert code == 2 and text.startswith("refused:") and "nothing to withdraw" in text
    # A notice whose content was changed is refused like a contribution.
    document = json.loads(notice.read_text())
    document["payload"]["withdraws"].append("00000000-0000-4000-8000-000000000008")
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document))
    code, text = world.nation.run("national", "import-withdrawal", str(changed))
    assert code == 2 and "signature does not match" in text
