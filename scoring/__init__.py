"""Pure survey statistics: the public API of the scoring package (no Flask, no database)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scoring.agreement import ICC, icc, rwg_j, rwg_star_j
from scoring.compare import MEANINGFUL_PP, Comparison, UnitChange, compare
from scoring.disclosure import MIN_REPORT_N_FLOOR, UnitTree, check_min_n, suppress
from scoring.intervals import (
    change_interval,
    headline_interval,
    holm,
    mean_interval,
    percentile_rank,
    percentiles,
    wilson,
)
from scoring.publication import (
    Agreement,
    BenchmarkCell,
    Change,
    Count,
    Hidden,
    Interval,
    ItemCell,
    Peers,
    PeerUnit,
    Publication,
    Rank,
    ScaleCell,
    ScaleOverview,
    Tally,
    UnitPublication,
    publish,
)
from scoring.reliability import Reliability, reliability
from scoring.scores import (
    Benchmark,
    ItemResult,
    Percentages,
    RespondentCounts,
    ResponseError,
    ScaleResult,
    UnitItemResult,
    UnitResults,
    UnitScaleResult,
    WaveScores,
    score,
)

if TYPE_CHECKING:
    from scoring.cfa import CfaFit, cfa_fit, invariance

#: Names loaded on first use: the CFA code pulls in scipy.optimize, which the CLI never needs.
_LAZY = {"CfaFit", "cfa_fit", "invariance"}

__all__ = [
    "ICC",
    "MEANINGFUL_PP",
    "MIN_REPORT_N_FLOOR",
    "Agreement",
    "Benchmark",
    "BenchmarkCell",
    "CfaFit",
    "Change",
    "Comparison",
    "Count",
    "Hidden",
    "Interval",
    "ItemCell",
    "ItemResult",
    "PeerUnit",
    "Peers",
    "Percentages",
    "Publication",
    "Rank",
    "Reliability",
    "RespondentCounts",
    "ResponseError",
    "ScaleCell",
    "ScaleOverview",
    "ScaleResult",
    "Tally",
    "UnitChange",
    "UnitItemResult",
    "UnitPublication",
    "UnitResults",
    "UnitScaleResult",
    "UnitTree",
    "WaveScores",
    "cfa_fit",
    "change_interval",
    "check_min_n",
    "compare",
    "headline_interval",
    "holm",
    "icc",
    "invariance",
    "mean_interval",
    "percentile_rank",
    "percentiles",
    "publish",
    "reliability",
    "rwg_j",
    "rwg_star_j",
    "score",
    "suppress",
    "wilson",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from scoring import cfa

        return getattr(cfa, name)
    raise AttributeError(f"module 'scoring' has no attribute {name!r}")
