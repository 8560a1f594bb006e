"""Benchmark: the publication of a national wave vs ``scoring.score`` on the same data.

    .venv/bin/python benchmarks/publication.py [--respondents 100000] [--units 3000] [--repeat 3]

One generated wave (the latent factor model of ``benchmarks/scoring.py``: 100,000 respondents,
3,000 units under 15 jurisdictions, default instrument). Times, best of ``--repeat``:

* ``scoring.score`` over the jurisdiction → unit tree (every statistic, today's API);
* ``scoring.publish`` of the same wave: every level of the tree (units, jurisdictions, the
  nation), every scale and item, comments, invitations, ranks and national benchmarks, and a
  change against an earlier wave (a second generated wave).

Target on the 2-core reference machine: publish ≤ 2 × score.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402

import scoring  # noqa: E402
import surveys  # noqa: E402

_spec = importlib.util.spec_from_file_location("_bench_scoring", _HERE / "scoring.py")
assert _spec is not None and _spec.loader is not None
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=3_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    instrument = surveys.load_default()
    frame, tree = _bench.make_wave(instrument, args.respondents, args.units)
    before, _ = _bench.make_wave(instrument, args.respondents, args.units, seed=_bench.SEED + 1)
    rng = np.random.default_rng(7)
    leaves = [u for u, p in tree.items() if p is not None]
    comments = {u: int(c) for u, c in zip(leaves, rng.poisson(4, len(leaves)), strict=True)}
    invited = {u: int(n) + 3 for u, n in frame["unit"].value_counts().items()}
    kinds = {u: ("jurisdiction" if p is None else "team") for u, p in tree.items()}
    previous = scoring.publish(before, instrument, tree, kinds=kinds)
    peers = scoring.Peers(
        units=[
            scoring.PeerUnit(u[:3], kinds[u], s, c.pct_positive)
            for u in leaves
            for s, c in previous.units[u].scales.items()
            if c.pct_positive is not None
        ],
        sharing=frozenset(u for u, p in tree.items() if p is None),
    )

    def run_score() -> object:
        return scoring.score(frame, instrument, tree=tree)

    def run_publish() -> object:
        return scoring.publish(
            frame,
            instrument,
            tree,
            comments=comments,
            invited=invited,
            kinds=kinds,
            previous=previous,
            peers=peers,
            jurisdiction="j00",
        )

    t_score = timed(run_score, args.repeat)
    t_publish = timed(run_publish, args.repeat)
    pub = run_publish()
    assert isinstance(pub, scoring.Publication)
    cells = len(pub.units) * (len(instrument.scales) + len(instrument.item_keys))
    print(
        f"wave: {len(frame):,} respondents, {args.units:,} units, "
        f"{len(pub.units):,} nodes, {cells:,} unit cells"
    )
    print(f"scoring.score (today's API, over the tree): {t_score:.3f} s")
    print(
        "scoring.publish (every level, item, comments, ranks, benchmarks, change): "
        f"{t_publish:.3f} s"
    )
    print(f"publish / score: {t_publish / t_score:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
