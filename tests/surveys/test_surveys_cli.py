"""``python -m surveys check``: exit status and output lines, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from instrument_samples import make_definition, write_yaml

from surveys import DEFAULT_INSTRUMENT_PATH

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "surveys", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_check_prints_ok_for_the_default_instrument() -> None:
    result = run_cli("check", str(DEFAULT_INSTRUMENT_PATH))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "OK team-safety-culture 2026.1\n"


def test_check_prints_every_error_line_and_exits_1_on_a_bad_file(tmp_path: Path) -> None:
    definition = make_definition()
    definition["scales"][0]["items"][1]["revers"] = True
    definition["comment"]["min_report_n"] = 2
    bad = write_yaml(tmp_path / "bad.yaml", definition)

    result = run_cli("check", str(DEFAULT_INSTRUMENT_PATH), str(bad))

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "OK team-safety-culture 2026.1",
        f"{bad}: scales[0].items[1].revers: unknown field 'revers' (did you mean 'reverse'?)",
        f"{bad}: comment.min_report_n: must be at least 3, not 2: comments from smaller groups "
        "could identify who wrote them",
    ]


def test_check_reports_a_missing_file_and_goes_on(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"

    result = run_cli("check", str(missing), str(DEFAULT_INSTRUMENT_PATH))

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{missing}: file not found",
        "OK team-safety-culture 2026.1",
    ]


def test_usage_errors_exit_2() -> None:
    assert run_cli().returncode == 2
    assert run_cli("check").returncode == 2
    assert run_cli("lint", "x.yaml").returncode == 2


def test_surveys_package_imports_no_web_or_database_code() -> None:
    code = (
        "import sys, surveys, surveys.loader, surveys.__main__\n"
        "surveys.load_default()\n"
        "banned = {'flask', 'sqlalchemy', 'app'}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in banned)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == ""
