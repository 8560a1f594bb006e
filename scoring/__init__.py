"""Pure survey statistics: the public API of the scoring package (no Flask, no database).

Names are loaded on first use (PEP 562): ``python -m scoring`` and the app import only the
modules a command needs, so a researcher's ``score`` on a CSV never pays for the CFA, EFA or
publication code (and the SciPy parts they pull in).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Functions named like the module that defines them are bound here, eagerly: once the submodule
# is imported, Python sets ``scoring.<name>`` to the module, which a lazy name would never undo.
from scoring.compare import compare
from scoring.efa import efa
from scoring.reliability import reliability

if TYPE_CHECKING:
    from scoring.agreement import (
        ICC,
        icc,
        rwg_j,
        rwg_star_j,
    )
    from scoring.cfa import (
        CfaFit,
        cfa_fit,
        cfa_fit_from_moments,
        invariance,
        invariance_from_moments,
    )
    from scoring.compare import (
        MEANINGFUL_PP,
        Comparison,
        UnitChange,
        compare,
    )
    from scoring.disclosure import (
        MIN_REPORT_N_FLOOR,
        UnitTree,
        check_min_n,
        suppress,
    )
    from scoring.efa import (
        Efa,
        efa,
    )
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
    from scoring.reliability import (
        Reliability,
        reliability,
    )
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

#: Public name → the module that defines it.
_LAZY = {
    "Agreement": "scoring.publication",
    "AnovaSums": "scoring.sufficient",
    "Benchmark": "scoring.scores",
    "BenchmarkCell": "scoring.publication",
    "CfaFit": "scoring.cfa",
    "Change": "scoring.publication",
    "Comparison": "scoring.compare",
    "Count": "scoring.publication",
    "Efa": "scoring.efa",
    "GroupStatistics": "scoring.sufficient",
    "Hidden": "scoring.publication",
    "ICC": "scoring.agreement",
    "Interval": "scoring.publication",
    "ItemCell": "scoring.publication",
    "ItemResult": "scoring.scores",
    "MEANINGFUL_PP": "scoring.compare",
    "MIN_REPORT_N_FLOOR": "scoring.disclosure",
    "Moments": "scoring.sufficient",
    "PeerUnit": "scoring.publication",
    "Peers": "scoring.publication",
    "Percentages": "scoring.scores",
    "Publication": "scoring.publication",
    "Rank": "scoring.publication",
    "Reliability": "scoring.reliability",
    "RespondentCounts": "scoring.scores",
    "ResponseError": "scoring.scores",
    "ScaleCell": "scoring.publication",
    "ScaleOverview": "scoring.publication",
    "ScaleResult": "scoring.scores",
    "SufficientStatistics": "scoring.sufficient",
    "Tally": "scoring.publication",
    "UnitChange": "scoring.compare",
    "UnitItemResult": "scoring.scores",
    "UnitPublication": "scoring.publication",
    "UnitResults": "scoring.scores",
    "UnitScaleResult": "scoring.scores",
    "UnitTree": "scoring.disclosure",
    "WaveScores": "scoring.scores",
    "cfa_fit": "scoring.cfa",
    "cfa_fit_from_moments": "scoring.cfa",
    "change_interval": "scoring.intervals",
    "check_min_n": "scoring.disclosure",
    "headline_interval": "scoring.intervals",
    "holm": "scoring.intervals",
    "icc": "scoring.agreement",
    "icc_from_sums": "scoring.sufficient",
    "invariance": "scoring.cfa",
    "invariance_from_moments": "scoring.cfa",
    "mean_interval": "scoring.intervals",
    "percentile_rank": "scoring.intervals",
    "percentiles": "scoring.intervals",
    "pool": "scoring.sufficient",
    "publish": "scoring.publication",
    "reliability_from_moments": "scoring.sufficient",
    "rwg_j": "scoring.agreement",
    "rwg_star_j": "scoring.agreement",
    "score": "scoring.scores",
    "sufficient_statistics": "scoring.sufficient",
    "suppress": "scoring.disclosure",
    "wilson": "scoring.intervals",
}

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
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scoring' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # looked up once; later uses are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
