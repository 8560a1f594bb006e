"""Simulations at team size: false changes, interval coverage, agreement for strangers.

    .venv/bin/python benchmarks/small_n.py [--reports 400]

Prints, for each n in 5, 12, 30, 100 (seeded; the tests in tests/scoring/test_small_n.py run the
same generators with fewer draws):

* under no change (both years drawn from the same team's answers): the share of reports where
  any scale is called changed — the old rule (|Δ| ≥ 5 points, ``scoring.compare``'s
  ``meaningful``) and the publication's (Newcombe interval excluding 0 after Holm across the
  scales, and |Δ| ≥ 5);
* coverage of 95% intervals for an item's % positive (exact binomial, p uniform 0.1–0.9) and
  for the headline % positive (simulated teams);
* groups of strangers (people from six different jurisdictions): the share told "the team
  largely agrees" — old rule rwg(j) ≥ .70, new rule r*wg(j) ≥ .70 with n ≥ 8.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import scoring  # noqa: E402
import surveys  # noqa: E402

SIZES = (5, 12, 30, 100)


def answers(
    instrument: surveys.Instrument,
    rng: np.random.Generator,
    n: int,
    team_effect: np.ndarray[Any, Any],
    item_shift: np.ndarray[Any, Any],
) -> dict[str, np.ndarray[Any, Any]]:
    """Raw answers of ``n`` people of one team: correlated scale factors plus item noise.

    Thresholds put most answers at 4 ("agree") as in real safety culture data: item standard
    deviations about 1 on 5 points, % positive 40–80%.
    """
    n_scales = len(instrument.scales)
    corr = 0.4 + 0.6 * np.eye(n_scales)
    person = rng.standard_normal((n, n_scales)) @ np.linalg.cholesky(corr).T
    latent = person + team_effect
    out: dict[str, np.ndarray[Any, Any]] = {}
    j = 0
    for s, scale in enumerate(instrument.scales):
        points = scale.response_scale.points
        cuts = np.linspace(-1.9, 0.9, points - 1)
        for item in scale.items:
            value = 0.75 * latent[:, s] + 0.65 * rng.standard_normal(n) + item_shift[j]
            y = 1 + np.searchsorted(cuts, value).astype(np.float64)
            raw = points + 1 - y if item.reverse else y
            raw[rng.random(n) < 0.04] = np.nan
            out[item.key] = raw
            j += 1
    return out


def team_parameters(
    instrument: surveys.Instrument, rng: np.random.Generator
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    return (
        rng.normal(scale=0.35, size=len(instrument.scales)),
        rng.normal(scale=0.3, size=len(instrument.item_keys)),
    )


def null_change_waves(
    instrument: surveys.Instrument, n: int, reports: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two waves of ``reports`` teams of ``n``; each team's two years from the same model."""
    rng = np.random.default_rng(seed)
    frames: list[list[pd.DataFrame]] = [[], []]
    for t in range(reports):
        effect, shift = team_parameters(instrument, rng)
        for year in range(2):
            data = answers(instrument, rng, n, effect, shift)
            frame = pd.DataFrame(data)
            frame.insert(0, "unit", f"t{t:04d}")
            frames[year].append(frame)
    return pd.concat(frames[0], ignore_index=True), pd.concat(frames[1], ignore_index=True)


def false_change_rates(
    instrument: surveys.Instrument, n: int, reports: int, seed: int
) -> tuple[float, float]:
    """(old rule, publication): share of reports calling any scale changed under no change."""
    before, after = null_change_waves(instrument, n, reports, seed)
    tree: dict[str, str | None] = {u: None for u in before["unit"].unique()}
    old = scoring.compare(
        scoring.score(before, instrument, min_n=5), scoring.score(after, instrument, min_n=5)
    )
    old_any = {u for changes in old.units.values() for u, c in changes.items() if c.meaningful}
    first = scoring.publish(before, instrument, tree)
    second = scoring.publish(after, instrument, tree, previous=first)
    new_any = {
        name
        for name, unit in second.units.items()
        if any(c.change.verdict in ("up", "down") for c in unit.scales.values())
    }
    return len(old_any) / reports, len(new_any) / reports


def wilson_coverage(n: int, grid: int = 801) -> float:
    """Exact coverage of the 95% Wilson interval, averaged over p uniform on [0.1, 0.9]."""
    from scipy.stats import binom

    ps = np.linspace(0.1, 0.9, grid)
    k = np.arange(n + 1)
    lo, hi = scoring.wilson(k, n)
    total = 0.0
    for p in ps:
        inside = (lo <= 100 * p) & (100 * p <= hi)
        total += float(binom.pmf(k, n, p)[inside].sum())
    return total / grid


def one_scale_teams(
    instrument: surveys.Instrument, n: int, teams: int, seed: int
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Teams answering the first scale only (the model above), with each team's true headline
    from the model's normal distribution (no estimation, no straight-lining possible)."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    scale = instrument.scales[0]
    points = scale.response_scale.points
    cuts = np.linspace(-1.9, 0.9, points - 1)
    cut = cuts[scale.response_scale.positive_from - 2]  # y >= positive_from: value above it
    sd = np.sqrt(0.75**2 + 0.65**2)
    frames = []
    truth = {}
    for t in range(teams):
        effect = rng.normal(scale=0.35)
        shifts = rng.normal(scale=0.3, size=len(scale.items))
        name = f"t{t:04d}"
        truth[name] = 100 * float(np.mean(norm.sf(cut, loc=0.75 * effect + shifts, scale=sd)))
        latent = rng.standard_normal(n) + effect
        frame: dict[str, Any] = {"unit": [name] * n}
        for item, shift in zip(scale.items, shifts, strict=True):
            value = 0.75 * latent + 0.65 * rng.standard_normal(n) + shift
            y = 1 + np.searchsorted(cuts, value).astype(np.float64)
            frame[item.key] = points + 1 - y if item.reverse else y
        frames.append(pd.DataFrame(frame))
    data = pd.concat(frames, ignore_index=True)
    for key in instrument.item_keys:
        if key not in data:
            data[key] = np.nan
    return data, truth


def headline_coverage(instrument: surveys.Instrument, n: int, teams: int, seed: int) -> float:
    """Share of simulated teams whose 95% headline interval holds the team's true headline."""
    data, truth = one_scale_teams(instrument, n, teams, seed)
    pub = scoring.publish(data, instrument, {u: None for u in truth}, min_n=3)
    key = instrument.scales[0].key
    hits = 0
    for name, value in truth.items():
        ci = pub.units[name].scales[key].pct_ci
        hits += ci is not None and ci.low <= value <= ci.high
    return hits / len(truth)


def strangers(instrument: surveys.Instrument, groups: int, seed: int) -> tuple[float, float, float]:
    """Groups of 5–12 people, each from a different team in one of six jurisdictions.

    Returns (old: share with rwg(j) ≥ .70, new: share told "agrees", new among groups ≥ 8).
    """
    rng = np.random.default_rng(seed)
    jur_effect = rng.normal(scale=0.3, size=(6, len(instrument.scales)))
    frames = []
    sizes = rng.integers(5, 13, groups)
    for g, size in enumerate(sizes):
        people = []
        for i in range(int(size)):
            effect, shift = team_parameters(instrument, rng)
            effect = effect + jur_effect[i % 6]
            people.append(pd.DataFrame(answers(instrument, rng, 1, effect, shift)))
        frame = pd.concat(people, ignore_index=True)
        frame.insert(0, "unit", f"g{g:04d}")
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    old = scoring.score(data, instrument, min_n=5)
    old_agree = np.mean(
        [
            (r := old.scales[s.key].units[u].rwg_j) is not None and r >= 0.70
            for s in instrument.scales
            for u in old.scales[s.key].units
        ]
    )
    pub = scoring.publish(data, instrument, {f"g{g:04d}": None for g in range(groups)})
    verdicts = [
        (c.agreement.verdict, int(size))
        for g, size in enumerate(sizes)
        for c in pub.units[f"g{g:04d}"].scales.values()
    ]
    new_agree = np.mean([v == "agrees" for v, _ in verdicts])
    big = [v == "agrees" for v, size in verdicts if size >= 8]
    return float(old_agree), float(new_agree), float(np.mean(big))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=400)
    args = parser.parse_args()
    instrument = surveys.load_default()
    print(f"strangers: {args.reports} groups of 5-12; coverage: {2 * args.reports} teams per n")
    print(f"false change under no change, {args.reports} reports per n (any of 8 scales):")
    for n in SIZES:
        old, new = false_change_rates(instrument, n, args.reports, seed=100 + n)
        print(f"  n = {n:3d}: old rule {100 * old:5.1f}%   publication {100 * new:5.1f}%")
    print("coverage of 95% intervals:")
    for n in SIZES:
        item = wilson_coverage(n)
        head = headline_coverage(instrument, n, teams=2 * args.reports, seed=200 + n)
        print(f"  n = {n:3d}: item Wilson {100 * item:5.1f}%   headline {100 * head:5.1f}%")
    old, new, big = strangers(instrument, groups=args.reports, seed=300)
    print(
        f"strangers told the team agrees: old rwg(j) >= .70 {100 * old:.1f}%, "
        f"publication {100 * new:.1f}% (groups of 8-12: {100 * big:.1f}%)"
    )


if __name__ == "__main__":
    main()
