"""Time ``flask reports build`` on a demo wave of 46 reports (36 teams), one process vs a pool.

Seeds the demo into a fresh folder (SQLite), then runs the real command line on Birch Valley's
closed 2025 wave with ``REPORT_WORKERS`` 1 and 2, alternating, each ``--repeat`` times. With
``--before DIR`` (a tree of older code, e.g. ``git archive``) that code's CLI runs in the same
rounds. Prints each run's wall time, the CPU time of the command and its worker processes, the
number of files written, and the load average before and after.
Run: ``python benchmarks/reports_cli.py [--repeat 2] [--before DIR]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The demo's wave that is timed: Birch Valley County's closed 2025 wave.
JURISDICTION, YEAR = "birch-valley", 2025


def _env(folder: Path, code: Path, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "REDIS"))}
    env.update(
        INSTANCE_PATH=str(folder / "instance"),
        DATABASE_URL=f"sqlite:///{folder / 'demo.sqlite3'}",
        PYTHONPATH=str(code),
        REPORT_WORKERS=str(workers),
    )
    return env


def _flask(args: list[str], env: dict[str, str], code: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wave_id(folder: Path) -> int:
    with sqlite3.connect(folder / "demo.sqlite3") as db:
        row = db.execute(
            "SELECT waves.id FROM waves JOIN jurisdictions ON jurisdictions.id = jurisdiction_id"
            " WHERE jurisdictions.slug = ? AND waves.year = ?",
            (JURISDICTION, YEAR),
        ).fetchone()
    return int(row[0])


def run_build(folder: Path, code: Path, wave_id: int, workers: int) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (the command and its workers) and files written."""
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    cpu, start = _children_cpu(), time.perf_counter()
    result = _flask(
        ["reports", "build", str(wave_id), "--out", str(out)], _env(folder, code, workers), code
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"reports build failed ({result.returncode}): {result.stderr[-2000:]}")
    return wall, _children_cpu() - cpu, len(list(out.glob("*.pdf")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="rounds of every variant")
    parser.add_argument("--before", type=Path, help="a tree of older code to time alongside")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reports-cli-") as tmp:
        folder = Path(tmp)
        seeded = _flask(["demo", "--no-serve"], _env(folder, ROOT, 1), ROOT)
        if seeded.returncode != 0:
            raise SystemExit(f"demo seeding failed: {seeded.stderr[-2000:]}")
        wave_id = _wave_id(folder)
        variants = [
            ("this code, REPORT_WORKERS=1", ROOT, 1),
            ("this code, REPORT_WORKERS=2", ROOT, 2),
        ]
        if args.before is not None:
            variants.insert(0, (f"before ({args.before})", args.before.resolve(), 2))
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, wave {wave_id}")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for round_no in range(1, args.repeat + 1):
            for name, code, workers in variants:
                wall, cpu, files = run_build(folder, code, wave_id, workers)
                print(
                    f"round {round_no}  {name:<40} {files} files  {wall:6.1f} s  CPU {cpu:6.1f} s"
                )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
