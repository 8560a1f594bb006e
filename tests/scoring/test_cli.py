"""``python -m scoring score``: output formats, options and one-line messages for bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "r"
INSTRUMENT = DATA / "score_instrument.yaml"
ITEMS = ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4", "c1", "c2", "c3",
         "d1", "d2", "d3", "d4"]  # fmt: skip
HEADER = "unit," + ",".join(ITEMS) + "\n"


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoring", "score", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def _score(responses: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    return _cli("--instrument", INSTRUMENT, "--responses", responses, *extra)


def _rows(*cells: dict[str, str]) -> str:
    """A CSV body: six valid respondents in unit t1, then the given rows."""
    good = {k: "3" for k in ITEMS} | {"a1": "4"}
    lines = [HEADER]
    for row in [{"unit": "t1", **good}] * 6 + [{"unit": "t1", **good, **c} for c in cells]:
        lines.append(",".join(row.get(k, "") for k in ["unit", *ITEMS]) + "\n")
    return "".join(lines)


def _bad(tmp_path: Path, text: str | bytes, *extra: str) -> str:
    path = tmp_path / "responses.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    done = _score(path, *extra)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_value_outside_the_scale_names_line_and_column(tmp_path: Path) -> None:
    message = _bad(tmp_path, _rows({"b2": "6"}))
    assert message == (
        f"error: {tmp_path / 'responses.csv'}, line 8 (respondent 7), column 'b2': "
        "'6' is outside 1..5"
    )


def test_zero_is_outside_the_scale(tmp_path: Path) -> None:
    assert "line 8 (respondent 7), column 'a3': '0' is outside 1..5" in _bad(
        tmp_path, _rows({"a3": "0"})
    )


def test_seven_point_item_accepts_seven_but_not_eight(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(_rows({"d1": "7"}), encoding="utf-8")
    assert _score(path).returncode == 0
    assert "column 'd1': '8' is outside 1..7" in _bad(tmp_path, _rows({"d1": "8"}))


def test_non_integer_answer_is_refused(tmp_path: Path) -> None:
    assert "line 8 (respondent 7), column 'c1': '2.5' is not an integer" in _bad(
        tmp_path, _rows({"c1": "2.5"})
    )


def test_text_answer_is_refused(tmp_path: Path) -> None:
    assert "line 9 (respondent 8), column 'a2': 'agree' is not an integer" in _bad(
        tmp_path, _rows({}, {"a2": "agree"})
    )


def test_na_text_is_not_silently_missing(tmp_path: Path) -> None:
    assert "column 'a2': 'NA' is not an integer" in _bad(tmp_path, _rows({"a2": "NA"}))


def test_missing_item_column_is_named(tmp_path: Path) -> None:
    text = _rows().replace(",b3", ",bX")
    assert _bad(tmp_path, text).endswith("column 'b3': item column(s) missing: b3")


def test_missing_unit_column_is_named(tmp_path: Path) -> None:
    text = _rows().replace("unit,", "team,", 1)
    assert _bad(tmp_path, text).endswith("column 'unit': the unit column 'unit' is missing")


def test_unit_column_option_is_used(tmp_path: Path) -> None:
    path = tmp_path / "team.csv"
    path.write_text(_rows().replace("unit,", "team,", 1), encoding="utf-8")
    done = _score(path, "--unit-column", "team")
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout)["scales"]["alpha_scale"]["units"]) == ["t1"]


def test_empty_unit_cell_is_refused(tmp_path: Path) -> None:
    assert "line 8 (respondent 7), column 'unit': the unit is missing" in _bad(
        tmp_path, _rows({"unit": ""})
    )


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert _bad(tmp_path, "").endswith("responses.csv: empty file")


def test_header_only_file_is_refused(tmp_path: Path) -> None:
    assert _bad(tmp_path, HEADER).endswith("responses.csv: no respondent rows after the header")


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    text = _rows({"unit": "Peñalolén"}).encode("latin-1")
    assert _bad(tmp_path, text).endswith("responses.csv: line 8: not UTF-8 text")


def test_invalid_instrument_is_refused_with_the_loader_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: x\nversion: '1'\n", encoding="utf-8")
    responses = tmp_path / "r.csv"
    responses.write_text(_rows(), encoding="utf-8")
    done = _cli("--instrument", broken, "--responses", responses)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: invalid instrument: ")
    assert "broken.yaml" in lines[0]


def test_missing_instrument_file_is_refused(tmp_path: Path) -> None:
    responses = tmp_path / "r.csv"
    responses.write_text(_rows(), encoding="utf-8")
    done = _cli("--instrument", tmp_path / "nope.yaml", "--responses", responses)
    assert done.returncode == 2
    assert "nope.yaml: file not found" in done.stderr


@pytest.mark.parametrize("bad", ["2", "0", "-5"])
def test_min_n_below_three_is_refused(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(_rows(), encoding="utf-8")
    done = _score(path, "--min-n", bad)
    assert done.returncode == 2
    assert "--min-n must be at least 3" in done.stderr


def test_csv_format_gives_one_row_per_scale_unit_and_item_unit(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    done = _score(DATA / "score_input_b.csv", "--format", "csv", "--item-units", "--out", out)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    levels = [r["level"] for r in rows]
    assert levels.count("scale") == 4
    assert levels.count("item") == 16
    assert levels.count("scale_unit") == 4 * 6
    assert levels.count("item_unit") == 16 * 6
    hidden = [r for r in rows if r["level"] == "scale_unit" and r["suppressed"] == "True"]
    assert hidden
    assert all(r["mean"] == "" and r["pct_positive"] == "" for r in hidden)


def test_json_never_contains_nan(tmp_path: Path) -> None:
    done = _score(DATA / "score_input_b.csv")
    assert done.returncode == 0
    assert "NaN" not in done.stdout and "Infinity" not in done.stdout
    data = json.loads(done.stdout)
    # Every null statistic of the small wave is explained.
    assert data["scales"]["alpha_scale"]["reliability"]["alpha"] is None
    assert any("alpha_scale: reliability" in w for w in data["warnings"])
