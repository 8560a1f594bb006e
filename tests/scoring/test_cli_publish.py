"""``python -m scoring publish``: the researchers' CLI publishes every level of the tree safely."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PLAIN = """\
key: plain
version: "1"
title: Researchers' instrument
response_scales:
  agree5:
    points: 5
    labels: [SD, D, N, A, SA]
    positive_from: 4
    negative_to: 2
scales:
  - key: HOSTIL
    title: Hostility
    response_scale: agree5
    higher_is_better: false
    items:
      - {key: A1, text: People shout at me}
      - {key: HOSTIL05, text: I am threatened, reverse: true}
      - {key: A3, text: Nobody helps}
"""


def _run(tmp_path: Path, csv_text: str, *extra: str) -> subprocess.CompletedProcess[str]:
    instrument = tmp_path / "plain.yaml"
    instrument.write_text(PLAIN, encoding="utf-8")
    responses = tmp_path / "responses.csv"
    responses.write_text(csv_text, encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "scoring",
            "publish",
            "--instrument",
            str(instrument),
            "--responses",
            str(responses),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _csv(rows: list[tuple[str, str]], header: str = "unit,a1,hostil05,A3") -> str:
    return header + "\n" + "".join(f"{u},{a}\n" for u, a in rows)


def _wave() -> list[tuple[str, str]]:
    # Office A: Team 7 (12 people) and Team 8 (3); Office B: Team 9 (6), office B itself 2.
    rows = [("Region 1 / Office A / Team 7", "4,2,4")] * 12
    rows += [("Region 1 / Office A / Team 8", "1,5,1")] * 3
    rows += [("Region 1/Office B/Team 9", "3,3,3")] * 6
    rows += [("Region 1 / Office B", "2,4,5")] * 2
    return rows


def test_unit_paths_are_published_at_every_level_with_the_tree_rules(tmp_path: Path) -> None:
    done = _run(tmp_path, _csv(_wave()))
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    units = data["units"]
    assert set(units) == {
        "Region 1",
        "Region 1 / Office A",
        "Region 1 / Office A / Team 7",
        "Region 1 / Office A / Team 8",
        "Region 1 / Office B",
        "Region 1 / Office B / Team 9",
    }
    assert units["Region 1 / Office A / Team 8"]["hidden"]["reason"] == "too_few"
    # Office A (15) minus Team 7 (12) would expose Team 8's 3 people: Team 7 is hidden too.
    assert units["Region 1 / Office A / Team 7"]["hidden"]["reason"] == "complementary"
    assert units["Region 1 / Office A"]["responses"]["value"] == 15
    assert units["Region 1 / Office A"]["parent"] == "Region 1"
    # Office B (8) minus Team 9 (6) = 2 people attached to the office itself.
    assert units["Region 1 / Office B / Team 9"]["responses"]["value"] is None
    for name, unit in units.items():
        for cell in unit["scales"].values():
            if cell["n"] is not None:
                assert cell["n"] >= 5, name


def test_a_tree_file_gives_the_parents(tmp_path: Path) -> None:
    tree = tmp_path / "tree.csv"
    tree.write_text("unit,parent\nT1,O1\nT2,O1\nO1,\n", encoding="utf-8")
    rows = [("T1", "4,2,4")] * 6 + [("T2", "2,4,2")] * 7
    done = _run(tmp_path, _csv(rows), "--tree", str(tree))
    assert done.returncode == 0, done.stderr
    units = json.loads(done.stdout)["units"]
    assert units["T1"]["parent"] == "O1" and units["O1"]["responses"]["value"] == 13
    assert units["O1"]["scales"]["HOSTIL"]["pct_positive"] is not None


def test_a_tree_with_a_cycle_is_refused_in_one_line(tmp_path: Path) -> None:
    tree = tmp_path / "tree.csv"
    tree.write_text("unit,parent\nT1,O1\nO1,T1\n", encoding="utf-8")
    done = _run(tmp_path, _csv([("T1", "4,2,4")] * 6), "--tree", str(tree))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"error: {tree}: the unit tree has a cycle"


def test_item_columns_in_another_case_map_to_the_keys(tmp_path: Path) -> None:
    done = _run(tmp_path, _csv([("T1", "5,1,5")] * 6), "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    item = next(r for r in rows if r["unit"] == "T1" and r["item"] == "HOSTIL05")
    assert item["n"] == "6" and float(item["pct_positive"]) == 100.0  # reverse-keyed: 1 → 5


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(tmp_path: Path) -> None:
    rows = [("=HYPERLINK(1)", "4,2,4")] * 6 + [("@SUM(A1)", "2,4,2")] * 6
    done = _run(tmp_path, _csv(rows), "--format", "csv")
    assert done.returncode == 0, done.stderr
    units = {r["unit"] for r in csv.DictReader(io.StringIO(done.stdout))}
    assert "'=HYPERLINK(1)" in units and "'@SUM(A1)" in units
    assert not any(u.startswith(("=", "@", "+", "-")) for u in units)


def test_score_csv_escapes_formula_cells_too(tmp_path: Path) -> None:
    instrument = tmp_path / "plain.yaml"
    instrument.write_text(PLAIN, encoding="utf-8")
    responses = tmp_path / "r.csv"
    responses.write_text(_csv([("+cmd", "4,2,4")] * 6), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "scoring", "score", "--instrument", str(instrument),
         "--responses", str(responses), "--format", "csv"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    units = {r["unit"] for r in csv.DictReader(io.StringIO(done.stdout))}
    assert "'+cmd" in units


def test_ambiguous_item_columns_are_refused(tmp_path: Path) -> None:
    done = _run(tmp_path, _csv([("T1", "4,2,4,4")] * 6, header="unit,a1,hostil05,Hostil05,a3"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == "error: columns 'hostil05', 'Hostil05' all match item 'HOSTIL05'"


def test_comment_counts_follow_the_tree_with_ten_as_the_threshold(tmp_path: Path) -> None:
    instrument = PLAIN + "comment: {key: remark, text: One change, min_report_n: 10}\n"
    rows = [("O / T1", "4,2,4", "better radios")] * 12 + [("O / T2", "2,4,2", "")] * 4
    rows += [("O / T2", "2,4,2", "the only one on nights")] * 3 + [("O / T3", "3,3,3", "")] * 6
    text = "unit,a1,hostil05,A3,remark\n" + "".join(f"{u},{a},{c}\n" for u, a, c in rows)
    (tmp_path / "plain.yaml").write_text(instrument, encoding="utf-8")
    (tmp_path / "responses.csv").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "scoring", "publish", "--instrument", str(tmp_path / "plain.yaml"),
         "--responses", str(tmp_path / "responses.csv")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    units = data["units"]
    # O has 15 comments; T1's 12 would leave T2's 3 to subtraction: T1's list is hidden.
    assert units["O"]["comments"]["value"] == 15
    assert units["O / T1"]["comments"] == {
        "value": None,
        "hidden": {"reason": "complementary", "threshold": None},
    }
    assert units["O / T2"]["comments"]["hidden"] == {"reason": "too_few", "threshold": 10}
    assert data["comment_min_n"] == 10
