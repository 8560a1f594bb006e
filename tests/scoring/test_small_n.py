"""Simulations at team size, kept as seeded tests: what a leader reads must not be noise.

The generators are those of ``benchmarks/small_n.py`` (which prints the same figures with more
draws, for the old rules and the publication side by side).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

import scoring
import surveys

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "small_n.py"
_spec = importlib.util.spec_from_file_location("_small_n", _PATH)
assert _spec is not None and _spec.loader is not None
sim: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)

INSTRUMENT = surveys.load_default()


# Holm keeps the chance of any false call at <= 5% by construction, and at n = 100 (where the
# 5-point rule no longer binds) the simulated rate is close to it (4.5% in 1,000 reports with
# another seed): enough reports that the Monte Carlo error (about 0.7 points) is small.
@pytest.mark.parametrize(("n", "reports"), [(5, 400), (12, 400), (30, 400), (100, 1000)])
def test_under_no_change_at_most_five_percent_of_reports_call_a_change(
    n: int, reports: int
) -> None:
    before, after = sim.null_change_waves(INSTRUMENT, n, reports, seed=1000 + n)
    tree: dict[str, str | None] = {u: None for u in before["unit"].unique()}
    first = scoring.publish(before, INSTRUMENT, tree)
    second = scoring.publish(after, INSTRUMENT, tree, previous=first)
    called = 0
    for unit in second.units.values():
        called += any(c.change.verdict in ("up", "down") for c in unit.scales.values())
    assert called / reports <= 0.05
    if n <= 12:
        # The old rule (|Δ| >= 5 points) on the same draws: nearly every report "changed".
        old = scoring.compare(scoring.score(before, INSTRUMENT), scoring.score(after, INSTRUMENT))
        flagged = {u for ch in old.units.values() for u, c in ch.items() if c.meaningful}
        assert len(flagged) / reports > 0.5


@pytest.mark.parametrize("n", [5, 12, 30, 100])
def test_wilson_intervals_for_percent_positive_cover_93_to_97_percent(n: int) -> None:
    # Exact binomial coverage, averaged over p uniform on [0.1, 0.9].
    assert 0.93 <= sim.wilson_coverage(n) <= 0.97


@pytest.mark.parametrize("n", [5, 12, 30, 100])
def test_headline_intervals_cover_about_95_percent(n: int) -> None:
    data, truth = sim.one_scale_teams(INSTRUMENT, n, teams=1000, seed=2000 + n)
    pub = scoring.publish(data, INSTRUMENT, {u: None for u in truth}, min_n=3)
    key = INSTRUMENT.scales[0].key
    hits = 0
    for name, value in truth.items():
        ci = pub.units[name].scales[key].pct_ci
        assert ci is not None and 0 <= ci.low <= ci.high <= 100
        hits += ci.low <= value <= ci.high
    assert 0.93 <= hits / len(truth) <= 0.985


def test_strangers_rarely_hear_that_the_team_agrees() -> None:
    old, new, among_eight_or_more = sim.strangers(INSTRUMENT, groups=300, seed=3000)
    assert new <= 0.10 and among_eight_or_more <= 0.10
    assert old > 0.5  # the old rwg(j) >= .70 verdict on the same groups
