"""The CLI's JSON against reference values computed in R (tests/data/r/score_reference.R)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "r"
INSTRUMENT = DATA / "score_instrument.yaml"
#: Counts and percentages must agree to 1e-6; fitted statistics (means, CIs, alpha...) to 1e-3.
TIGHT = 1e-6
LOOSE = 1e-3
TIGHT_KEYS = {"pct_positive", "pct_neutral", "pct_negative", "percentile"}
TIGHT_KEYS |= {f"p{q}" for q in (10, 25, 50, 75, 90)}


def _run_cli(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "scoring", "score", "--instrument", str(INSTRUMENT), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _compare(expected: Any, actual: Any, path: str, problems: list[str], tol: float) -> None:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            problems.append(f"{path}: expected an object, got {actual!r}")
            return
        if set(expected) != set(actual):
            problems.append(f"{path}: keys differ: {sorted(set(expected) ^ set(actual))}")
        for key in expected.keys() & actual.keys():
            key_tol = TIGHT if key in TIGHT_KEYS else tol
            _compare(expected[key], actual[key], f"{path}.{key}", problems, key_tol)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            problems.append(f"{path}: expected {expected!r}, got {actual!r}")
            return
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _compare(e, a, f"{path}[{i}]", problems, tol)
    elif expected is None or isinstance(expected, (bool, str)):
        if actual != expected or type(actual) is not type(expected):
            problems.append(f"{path}: expected {expected!r}, got {actual!r}")
    elif isinstance(expected, int) and path.rsplit(".", 1)[-1] in {
        "n", "n_complete", "total", "scored", "excluded_straightlining",
    }:  # fmt: skip
        if actual != expected or isinstance(actual, bool):
            problems.append(f"{path}: expected count {expected}, got {actual!r}")
    else:
        number = isinstance(actual, (int, float)) and not isinstance(actual, bool)
        if not number or not math.isclose(actual, float(expected), rel_tol=0.0, abs_tol=tol):
            problems.append(f"{path}: expected {expected!r}, got {actual!r}")


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("a_default", ["--item-units"]),
        ("a_min3_keep", ["--min-n", "3", "--no-exclude-straightlining"]),
        ("b_default", ["--item-units"]),
    ],
)
def test_cli_json_matches_r(case: str, options: list[str]) -> None:
    expected = json.loads((DATA / f"score_expected_{case}.json").read_text(encoding="utf-8"))
    csv = DATA / expected["case"]["csv"]
    actual = _run_cli("--responses", str(csv), *options)
    if "--item-units" not in options:
        # Without the option the JSON is exactly the documented shape: no units under items.
        assert all("units" not in item for item in actual["items"].values())
        for item in expected["items"].values():
            del item["units"]
    assert actual["instrument"] == {"key": "score-reference", "version": "1"}
    assert all(isinstance(w, str) for w in actual["warnings"])
    problems: list[str] = []
    for part in ("respondents", "scales", "items"):
        _compare(expected[part], actual[part], part, problems, LOOSE)
    assert problems == [], "\n".join(problems[:40])


def test_reference_data_cover_the_awkward_cases() -> None:
    """Guard the fixture itself: the cases the reference is meant to exercise are present."""
    a = json.loads((DATA / "score_expected_a_default.json").read_text(encoding="utf-8"))
    keep = json.loads((DATA / "score_expected_a_min3_keep.json").read_text(encoding="utf-8"))
    b = json.loads((DATA / "score_expected_b_default.json").read_text(encoding="utf-8"))
    assert a["respondents"]["excluded_straightlining"] == 2
    assert keep["respondents"]["scored"] == a["respondents"]["scored"] + 2
    units = a["scales"]["alpha_scale"]["units"]
    assert {units[u]["n"] for u in ("u01", "u02", "u03", "u04")} == {1, 2, 3, 4}
    assert units["u27"]["rwg_j"] == 1 and units["u27"]["ci"][0] == units["u27"]["ci"][1]
    statuses = {s["reliability"]["status"] for s in a["scales"].values()}
    assert statuses == {"ok", "unstable"}
    assert "insufficient" in {s["reliability"]["status"] for s in b["scales"].values()}
    # Complementary suppression happens somewhere: a shown-size unit is hidden.
    assert any(
        u["suppressed"] and u["n"] >= 5 for s in b["scales"].values() for u in s["units"].values()
    ) or any(
        u["suppressed"] and u["n"] >= 5 for s in a["scales"].values() for u in s["units"].values()
    )
