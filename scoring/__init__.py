"""Pure survey statistics: the public API of the scoring package (no Flask, no database)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scoring.agreement import ICC, icc, rwg_j, rwg_star_j
from scoring.compare import MEANINGFUL_PP, Comparison, UnitChange, compare
from scoring.disclosure import MIN_REPORT_N_FLOOR, UnitTree, check_min_n, suppress
from scoring.efa import Efa, efa
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
from scoring.sufficient import (
    AnovaSums,
    GroupStatistics,
    Moments,
    SufficientStatistics,
    icc_from_sums,
    pool,
    reliability_from_moments,
    sufficient_statistics,
)

if TYPE_CHECKING:
    from scoring.cfa import (
        CfaFit,
        cfa_fit,
        cfa_fit_from_moments,
        invariance,
        invariance_from_moments,
    )

#: Names loaded on first use: the CFA code pulls in scipy.optimize, which the CLI never needs.
_LAZY = {"CfaFit", "cfa_fit", "cfa_fit_from_moments", "invariance", "invariance_from_moments"}

__all__ = [
    "ICC",
    "MEANINGFUL_PP",
    "MIN_REPORT_N_FLOOR",
    "Agreement",
    "AnovaSums",
    "Benchmark",
    "BenchmarkCell",
    "CfaFit",
    "Change",
    "Comparison",
    "Count",
    "Efa",
    "GroupStatistics",
    "Hidden",
    "Interval",
    "ItemCell",
    "ItemResult",
    "Moments",
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
    "SufficientStatistics",
    "Tally",
    "UnitChange",
    "UnitItemResult",
    "UnitPublication",
    "UnitResults",
    "UnitScaleResult",
    "UnitTree",
    "WaveScores",
    "cfa_fit",
    "cfa_fit_from_moments",
    "change_interval",
    "check_min_n",
    "compare",
    "efa",
    "headline_interval",
    "holm",
    "icc",
    "icc_from_sums",
    "invariance",
    "invariance_from_moments",
    "mean_interval",
    "percentile_rank",
    "percentiles",
    "pool",
    "publish",
    "reliability",
    "reliability_from_moments",
    "rwg_j",
    "rwg_star_j",
    "score",
    "sufficient_statistics",
    "suppress",
    "wilson",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from scoring import cfa

        return getattr(cfa, name)
    raise AttributeError(f"module 'scoring' has no attribute {name!r}")
