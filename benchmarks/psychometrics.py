"""Time the psychometric functions of ``scoring`` on national-scale data; prints each figure."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this folder comes first on sys.path and benchmarks/scoring.py would shadow the
# scoring package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from scoring.agreement import icc, rwg_j  # noqa: E402
from scoring.cfa import cfa_fit, invariance  # noqa: E402
from scoring.reliability import reliability  # noqa: E402


def _likert(rng: np.random.Generator, latent: np.ndarray, loading: float) -> np.ndarray:
    noise = rng.normal(size=latent.size) * np.sqrt(1 - loading**2)
    return np.clip(np.round(3 + 1.1 * (loading * latent + noise)), 1, 5)


def _best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rng = np.random.default_rng(2024)

    n, k = 100_000, 5
    latent = rng.normal(size=n)
    scale = np.column_stack([_likert(rng, latent, 0.7) for _ in range(k)])
    scale[rng.random(scale.shape) < 0.05] = np.nan
    items = pd.DataFrame(scale, columns=[f"q{i + 1}" for i in range(k)])
    reliability(items)  # first call pays for importing scipy
    t = _best_of(5, lambda: reliability(items))
    print(f"reliability        {n:>7,} rows × {k} items, 5% missing        {t * 1000:8.1f} ms")

    teams = pd.Series(rng.integers(0, 3000, size=n)).map("team{:04d}".format)
    t = _best_of(5, lambda: rwg_j(items, teams, points=5))
    print(f"rwg_j              {n:>7,} rows × {k} items, 3,000 teams     {t * 1000:8.1f} ms")
    scores = items.mean(axis=1)
    t = _best_of(5, lambda: icc(scores, teams))
    print(f"icc                {n:>7,} scores, 3,000 teams              {t * 1000:8.1f} ms")

    n_cfa, per_factor = 10_000, [5, 5, 5, 5, 4, 4, 4, 4]
    m = len(per_factor)
    phi = np.full((m, m), 0.35) + 0.65 * np.eye(m)
    eta = rng.multivariate_normal(np.zeros(m), phi, size=n_cfa)
    columns: dict[str, np.ndarray] = {}
    factors: dict[str, list[str]] = {}
    for f, count in enumerate(per_factor):
        factors[f"F{f + 1}"] = []
        for _ in range(count):
            name = f"q{len(columns) + 1}"
            columns[name] = _likert(rng, eta[:, f], rng.uniform(0.5, 0.85))
            factors[f"F{f + 1}"].append(name)
    data = pd.DataFrame(columns)
    data["jurisdiction"] = rng.integers(0, 5, size=n_cfa)
    p = data.shape[1] - 1
    t = _best_of(3, lambda: cfa_fit(data, factors))
    print(f"cfa_fit            {n_cfa:>7,} rows × {p} items, {m} factors      {t * 1000:8.1f} ms")
    t = _best_of(1, lambda: invariance(data, factors, group="jurisdiction"))
    print(f"invariance (3 fits){n_cfa:>7,} rows × {p} items, 5 groups       {t * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
