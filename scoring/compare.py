"""Change between two waves: Δ % positive, Welch t on respondent scores and Hedges' g."""

from __future__ import annotations

import math
import warnings as _warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.scores import WaveScores

#: A change of at least this many percentage points in % positive is flagged as meaningful.
MEANINGFUL_PP = 5.0


@dataclass(frozen=True)
class UnitChange:
    """One unit (``None``: the whole wave) on one scale, before → after.

    ``delta_pct_positive`` is in percentage points (after − before); ``t`` and ``hedges_g``
    are positive when scores rose. Statistics are ``None`` where undefined (no variance).
    """

    scale: str
    unit: str | None
    n_before: int
    n_after: int
    pct_positive_before: float
    pct_positive_after: float
    delta_pct_positive: float
    meaningful: bool
    mean_before: float
    mean_after: float
    t: float | None
    df: float | None
    p_value: float | None
    hedges_g: float | None


@dataclass(frozen=True)
class Comparison:
    """Changes per scale: ``units[scale][unit]`` and ``overall[scale]``."""

    units: Mapping[str, Mapping[str, UnitChange]]
    overall: Mapping[str, UnitChange]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""

        def one(c: UnitChange) -> dict[str, Any]:
            return {
                "n_before": c.n_before,
                "n_after": c.n_after,
                "pct_positive_before": c.pct_positive_before,
                "pct_positive_after": c.pct_positive_after,
                "delta_pct_positive": c.delta_pct_positive,
                "meaningful": c.meaningful,
                "mean_before": c.mean_before,
                "mean_after": c.mean_after,
                "t": c.t,
                "df": c.df,
                "p_value": c.p_value,
                "hedges_g": c.hedges_g,
            }

        return {
            "scales": {
                key: {
                    "overall": one(self.overall[key]) if key in self.overall else None,
                    "units": {u: one(c) for u, c in units.items()},
                }
                for key, units in self.units.items()
            },
            "warnings": list(self.warnings),
        }


def compare(before: WaveScores, after: WaveScores) -> Comparison:
    """Change of every unit on every scale between two waves.

    Parameters
    ----------
    before, after : WaveScores
        Results of :func:`scoring.score` for the earlier and the later wave.

    Returns
    -------
    Comparison
        For each scale present in both waves and each unit shown (not suppressed) in both:
        Δ % positive = after − before in percentage points, ``meaningful`` when
        ``|Δ| >= 5`` (the AHRQ trending convention), Welch's t test of the unit's respondent
        scores (after vs before; R ``t.test(after, before, var.equal = FALSE)``, here
        ``scipy.stats.ttest_ind(..., equal_var=False)``) and Hedges' g,
        ``g = J · (mean_a - mean_b) / s_p`` with ``s_p² = ((n_a-1)s_a² + (n_b-1)s_b²) /
        (n_a + n_b - 2)`` and ``J = 1 - 3 / (4 (n_a + n_b) - 9)`` (R
        ``effsize::cohen.d(after, before, hedges.correction = TRUE)``).

    Notes
    -----
    Missing data: only respondents with a score on the scale enter the test (the same set
    that defines the unit's ``n``). A unit suppressed in either wave is left out entirely,
    so a comparison never shows more than each wave shows on its own.
    """
    notes: list[str] = []
    if before.instrument_key != after.instrument_key:
        notes.append(
            f"instruments differ ({before.instrument_key} → {after.instrument_key}); "
            "scales are matched by key"
        )
    units: dict[str, dict[str, UnitChange]] = {}
    overall: dict[str, UnitChange] = {}
    bs, as_ = before.respondent_scores, after.respondent_scores
    for key, sa in after.scales.items():
        sb = before.scales.get(key)
        if sb is None:
            notes.append(f"scale {key}: not in the earlier wave")
            continue
        vb_all = bs[key].to_numpy(dtype=np.float64)
        va_all = as_[key].to_numpy(dtype=np.float64)
        ub = bs["unit"].to_numpy(dtype=object)
        ua = as_["unit"].to_numpy(dtype=object)
        if (
            sb.mean is not None
            and sa.mean is not None
            and sb.pct.positive is not None
            and (sa.pct.positive is not None)
        ):
            overall[key] = _change(
                key,
                None,
                vb_all[~np.isnan(vb_all)],
                va_all[~np.isnan(va_all)],
                sb.pct.positive,
                sa.pct.positive,
            )
        by_unit_b = _split(vb_all, ub)
        by_unit_a = _split(va_all, ua)
        changes: dict[str, UnitChange] = {}
        for name, ra in sa.units.items():
            rb = sb.units.get(name)
            if rb is None or rb.suppressed or ra.suppressed:
                continue
            if rb.pct.positive is None or ra.pct.positive is None:
                continue
            changes[name] = _change(
                key, name, by_unit_b[name], by_unit_a[name], rb.pct.positive, ra.pct.positive
            )
        units[key] = changes
    return Comparison(units=units, overall=overall, warnings=tuple(notes))


FloatArray = npt.NDArray[np.float64]


def _split(values: FloatArray, labels: npt.NDArray[np.object_]) -> dict[str, FloatArray]:
    """Non-missing values per unit label."""
    keep = ~np.isnan(values)
    v, lab = values[keep], labels[keep]
    if lab.size == 0:
        return {}
    order = np.argsort(lab, kind="stable")
    v, lab = v[order], lab[order]
    names, starts = np.unique(lab, return_index=True)
    ends = [*starts[1:].tolist(), lab.size]
    return {str(n): v[s:e] for n, s, e in zip(names.tolist(), starts.tolist(), ends, strict=True)}


def _change(
    key: str, unit: str | None, b: FloatArray, a: FloatArray, pct_b: float, pct_a: float
) -> UnitChange:
    delta = pct_a - pct_b
    t, df, p = _welch(a, b)
    return UnitChange(
        scale=key,
        unit=unit,
        n_before=int(b.size),
        n_after=int(a.size),
        pct_positive_before=pct_b,
        pct_positive_after=pct_a,
        delta_pct_positive=delta,
        meaningful=abs(delta) >= MEANINGFUL_PP,
        mean_before=float(b.mean()),
        mean_after=float(a.mean()),
        t=t,
        df=df,
        p_value=p,
        hedges_g=_hedges_g(a, b),
    )


def _welch(a: FloatArray, b: FloatArray) -> tuple[float | None, float | None, float | None]:
    if a.size < 2 or b.size < 2 or (a.var(ddof=1) == 0 and b.var(ddof=1) == 0):
        return None, None, None
    from scipy.stats import ttest_ind

    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)
        res = ttest_ind(a, b, equal_var=False)
    t, p, df = float(res.statistic), float(res.pvalue), float(res.df)
    return (_finite(t), _finite(df), _finite(p))


def _hedges_g(a: FloatArray, b: FloatArray) -> float | None:
    na, nb = a.size, b.size
    if na < 2 or nb < 2:
        return None
    pooled = ((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2)
    if pooled <= 0:
        return None
    correction = 1.0 - 3.0 / (4.0 * (na + nb) - 9.0)
    return float(correction * (a.mean() - b.mean()) / math.sqrt(pooled))


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
