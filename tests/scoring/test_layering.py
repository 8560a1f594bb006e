"""scoring and surveys stand alone: no web framework, database layer or app code is imported."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("flask", "sqlalchemy", "app")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _offending(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)


def test_importing_scoring_and_surveys_pulls_in_no_app_layer() -> None:
    modules = _modules_after("import scoring, surveys, scoring.cli, scoring.compare")
    assert "scoring" in modules and "surveys" in modules
    assert _offending(modules) == []


def test_scoring_a_wave_pulls_in_no_app_layer() -> None:
    code = (
        "import pandas as pd, scoring, surveys\n"
        "i = surveys.load_default()\n"
        "f = pd.DataFrame([{'unit': 'u', **dict.fromkeys(i.item_keys, 3.0)}] * 6)\n"
        "f.loc[0, i.item_keys[0]] = 4.0\n"
        "scoring.score(f, i)\n"
    )
    assert _offending(_modules_after(code)) == []


def test_importing_scoring_stays_light() -> None:
    """The CLI's start-up must not pay for libraries only some statistics need."""
    modules = _modules_after("import scoring, scoring.cli")
    heavy = {"pingouin", "factor_analyzer", "scipy.optimize", "scipy.stats", "sklearn"}
    assert sorted(heavy & modules) == []
