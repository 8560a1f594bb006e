"""Time team report PDFs: median per report in one process, 500 with two workers, and the floor.

The floor is WeasyPrint turning a one-page plain document into a tagged PDF in the same run:
it shows what the machine gives at that moment, since other work may be loading it. Every
figure is given as wall time and as this process's CPU time (``time.process_time``): on a
loaded machine the wall time grows with the load, the CPU time much less.
Run: ``python benchmarks/reports.py [--count 500] [--single 60] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

from weasyprint import HTML

from app.reporting import render_pdf
from app.reporting.context import ReportContext
from app.reporting.sample import sample_team_context

PLAIN = (
    '<html lang="en"><head><title>Floor</title></head>'
    '<body style="font-family: DejaVu Sans"><h1>One page</h1><p>Plain text.</p></body></html>'
)


def varied_context(seed: int) -> ReportContext:
    """Team contexts that differ in names, numbers, paper size and national benchmarks."""
    return sample_team_context(
        seed, page_size="Letter" if seed % 3 == 0 else "A4", national_published=seed % 7 != 0
    )


def render_one(seed: int) -> tuple[int, float]:
    """PDF size and the CPU seconds this process spent on it."""
    start = time.process_time()
    size = len(render_pdf(varied_context(seed)))
    return size, time.process_time() - start


def _warm() -> None:
    render_one(0)


def median_seconds(work: list[int]) -> tuple[float, float]:
    """Median wall and median CPU seconds per report."""
    walls, cpus = [], []
    for seed in work:
        start = time.perf_counter()
        cpus.append(render_one(seed)[1])
        walls.append(time.perf_counter() - start)
    return statistics.median(walls), statistics.median(cpus)


def floor_seconds(runs: int = 20) -> tuple[float, float]:
    """Median wall and median CPU seconds for the one-page plain document."""
    walls, cpus = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        HTML(string=PLAIN).write_pdf(pdf_variant="pdf/ua-1")
        cpus.append(time.process_time() - start_cpu)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="reports in the parallel run")
    parser.add_argument("--single", type=int, default=60, help="reports timed one by one")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"code from {os.path.dirname(render_pdf.__code__.co_filename)}"
    )
    print(f"machine: {os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.2f}")
    _warm()
    HTML(string=PLAIN).write_pdf(pdf_variant="pdf/ua-1")
    floor, floor_cpu = floor_seconds()
    print(f"floor (one-page plain document, median of 20): {floor:.3f} s (CPU {floor_cpu:.3f} s)")
    single, single_cpu = median_seconds(list(range(1, args.single + 1)))
    print(
        f"team report, single process, median of {args.single}: {single:.3f} s "
        f"(CPU {single_cpu:.3f} s)  (target ≤ 0.5 s)"
    )
    print(
        f"team report / floor: {single / floor:.1f}x wall, {single_cpu / floor_cpu:.1f}x CPU "
        "(target ≤ 20x)"
    )

    # Started as the ZIP job starts its workers (spawned, not forked); their start is timed too.
    start = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=spawn, initializer=_warm) as pool:
        results = list(pool.map(render_one, range(args.count), chunksize=8))
    total = time.perf_counter() - start
    sizes = [size for size, _ in results]
    cpu = sum(seconds for _, seconds in results)
    print(
        f"{args.count} team reports with {args.workers} workers: {total:.1f} s total "
        f"({total / args.count:.3f} s per report; CPU {cpu / args.count:.3f} s per report; "
        f"mean PDF {statistics.mean(sizes) / 1024:.0f} KiB)  (target ≤ 120 s)"
    )
    again, again_cpu = floor_seconds()
    print(f"floor again after the run: {again:.3f} s (CPU {again_cpu:.3f} s)")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on this machine inflates all")
    print("figures; compare the report times with the floor measured in the same run)")


if __name__ == "__main__":
    main()
