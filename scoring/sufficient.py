"""Sufficient statistics of item answers: computed per group, pooled exactly, no row needed after.

A jurisdiction can hand over these statistics instead of its rows: they are enough for alpha with
its Feldt interval, omega total, item-total r, ICC(1)/ICC(2), CFA fit and multi-group invariance,
and pooling them gives exactly what the same statistics give on the pooled rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring._linalg import FloatArray
from scoring.agreement import ICC
from scoring.reliability import Reliability, reliability_from_covariance

#: Format of :meth:`SufficientStatistics.to_dict`; bump when the layout changes.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Moments:
    """Count, means and co-moment matrix of the complete rows over ``items``.

    ``comoment`` is Σ_r (x_r - m)(x_r - m)ᵀ over the n complete rows, so the sample covariance
    is ``comoment / (n - 1)`` (R ``cov``) and lavaan's ML covariance ``comoment / n``.
    """

    items: tuple[str, ...]
    n: int
    mean: FloatArray
    comoment: FloatArray

    def covariance(self, *, ddof: int = 1) -> FloatArray:
        """The covariance matrix with divisor ``n - ddof`` (NaN when that is not positive)."""
        if self.n - ddof <= 0:
            return np.full_like(self.comoment, np.nan)
        out: FloatArray = self.comoment / (self.n - ddof)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": list(self.items),
            "n": self.n,
            "mean": [float(v) for v in self.mean],
            "comoment": [[float(v) for v in row] for row in self.comoment],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Moments:
        items = tuple(str(i) for i in data["items"])
        mean = np.asarray(data["mean"], dtype=np.float64).reshape(len(items))
        comoment = np.asarray(data["comoment"], dtype=np.float64).reshape(len(items), len(items))
        n = int(data["n"])
        if n < 0 or not np.all(np.isfinite(mean)) or not np.all(np.isfinite(comoment)):
            raise ValueError("moments: n must be ≥ 0 and every number finite")
        return cls(items=items, n=n, mean=mean, comoment=(comoment + comoment.T) / 2.0)


def moments(items: pd.DataFrame) -> Moments:
    """Moments of the rows of ``items`` that answered every column (listwise deletion)."""
    x = items.to_numpy(dtype=np.float64, na_value=np.nan)
    x = x[~np.isnan(x).any(axis=1)]
    n, p = x.shape[0], items.shape[1]
    if n == 0:
        return Moments(tuple(map(str, items.columns)), 0, np.zeros(p), np.zeros((p, p)))
    mean = x.mean(axis=0)
    z = x - mean
    comoment = z.T @ z
    return Moments(tuple(map(str, items.columns)), n, mean, (comoment + comoment.T) / 2.0)


def pool_moments(parts: Iterable[Moments]) -> Moments:
    """Moments of the union of disjoint row sets, exactly (Chan, Golub and LeVeque's update).

    For parts a and b with δ = m_b - m_a: n = n_a + n_b, m = m_a + δ n_b / n and
    M = M_a + M_b + δδᵀ n_a n_b / n.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to pool")
    items = parts[0].items
    if any(p.items != items for p in parts):
        raise ValueError("cannot pool moments of different items")
    n, mean, comoment = 0, np.zeros(len(items)), np.zeros((len(items), len(items)))
    for part in parts:
        if part.n == 0:
            continue
        total = n + part.n
        delta = part.mean - mean
        comoment = comoment + part.comoment + np.outer(delta, delta) * (n * part.n / total)
        mean = mean + delta * (part.n / total)
        n = total
    return Moments(items, n, mean, comoment)


@dataclass(frozen=True)
class AnovaSums:
    """One-way ANOVA sums of respondent scale scores by unit, for ICC(1) and ICC(2).

    ``n`` respondents with a score and a unit, in ``units`` units; ``total`` the sum of their
    scores; ``ss_between`` = Σ_t n_t (m_t - m)² and ``ss_within`` = Σ_t Σ_r (y_r - m_t)² around
    this group's own mean m. No unit's own figure is kept.
    """

    n: int
    units: int
    total: float
    ss_between: float
    ss_within: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "units": self.units,
            "total": self.total,
            "ss_between": self.ss_between,
            "ss_within": self.ss_within,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnovaSums:
        out = cls(
            n=int(data["n"]),
            units=int(data["units"]),
            total=float(data["total"]),
            ss_between=float(data["ss_between"]),
            ss_within=float(data["ss_within"]),
        )
        if min(out.n, out.units) < 0 or min(out.ss_between, out.ss_within) < 0:
            raise ValueError("ANOVA sums cannot be negative")
        if not all(math.isfinite(v) for v in (out.total, out.ss_between, out.ss_within)):
            raise ValueError("ANOVA sums must be finite")
        return out


def anova_sums(values: FloatArray, units: np.ndarray) -> AnovaSums:
    """ANOVA sums of ``values`` grouped by ``units``; NaN values and missing units are dropped."""
    codes, _ = pd.factorize(pd.Series(units), use_na_sentinel=True)
    keep = (codes >= 0) & ~np.isnan(values)
    y = values[keep]
    if y.size == 0:
        return AnovaSums(0, 0, 0.0, 0.0, 0.0)
    _, g = np.unique(codes[keep], return_inverse=True)
    size = np.bincount(g).astype(np.float64)
    mean = float(y.mean())
    group_mean = np.bincount(g, weights=y - mean) / size
    ss_between = float((size * group_mean * group_mean).sum())
    ss_within = float(((y - mean - group_mean[g]) ** 2).sum())
    return AnovaSums(int(y.size), int(size.size), float(y.sum()), ss_between, ss_within)


def pool_anova(parts: Iterable[AnovaSums]) -> AnovaSums:
    """ANOVA sums over parts whose units are disjoint (different jurisdictions).

    SS_within adds up; SS_between = Σ_j [SS_between,j + n_j (m_j - m)²] with m the grand mean.
    """
    parts = [p for p in parts if p.n > 0]
    if not parts:
        return AnovaSums(0, 0, 0.0, 0.0, 0.0)
    n = sum(p.n for p in parts)
    grand = sum(p.total for p in parts) / n
    between = sum(p.ss_between + p.n * (p.total / p.n - grand) ** 2 for p in parts)
    return AnovaSums(
        n=n,
        units=sum(p.units for p in parts),
        total=sum(p.total for p in parts),
        ss_between=between,
        ss_within=sum(p.ss_within for p in parts),
    )


def icc_from_sums(sums: AnovaSums) -> ICC:
    """ICC(1) and ICC(2) from ANOVA sums, exactly as :func:`scoring.icc` on the rows.

    MSB = SS_between / (G - 1), MSW = SS_within / (N - G), k = N / G;
    ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW), ICC(2) = (MSB - MSW) / MSB.
    R: ``multilevel::ICC1(aov(score ~ as.factor(unit)))`` and ``multilevel::ICC2``.
    """
    g, n = sums.units, sums.n
    if g < 2 or n - g < 1:
        return ICC(icc1=None, icc2=None)
    msb = sums.ss_between / (g - 1)
    msw = sums.ss_within / (n - g)
    k = n / g
    denom = msb + (k - 1.0) * msw
    return ICC(
        icc1=(msb - msw) / denom if denom > 0.0 else None,
        icc2=(msb - msw) / msb if msb > 0.0 else None,
    )


@dataclass(frozen=True)
class GroupStatistics:
    """Statistics of one group of respondents (a jurisdiction's speakers of one language).

    ``instrument``: moments over every item, listwise within the instrument (for CFA and
    invariance). ``scales``: per scale, moments listwise within that scale (for alpha, omega,
    item-total r). ``distributions``: per item, how many gave each answer (available case).
    """

    respondents: int
    instrument: Moments
    scales: Mapping[str, Moments]
    distributions: Mapping[str, Mapping[int, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "respondents": self.respondents,
            "instrument": self.instrument.to_dict(),
            "scales": {k: m.to_dict() for k, m in self.scales.items()},
            "distributions": {
                item: {str(v): c for v, c in sorted(counts.items())}
                for item, counts in self.distributions.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupStatistics:
        return cls(
            respondents=int(data["respondents"]),
            instrument=Moments.from_dict(data["instrument"]),
            scales={str(k): Moments.from_dict(m) for k, m in data["scales"].items()},
            distributions={
                str(item): {int(v): int(c) for v, c in counts.items()}
                for item, counts in data["distributions"].items()
            },
        )


def pool_groups(parts: Iterable[GroupStatistics]) -> GroupStatistics:
    """Statistics of the union of disjoint groups of respondents."""
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to pool")
    scales = parts[0].scales.keys()
    distributions: dict[str, dict[int, int]] = {}
    for part in parts:
        if part.scales.keys() != scales:
            raise ValueError("cannot pool statistics of different scales")
        for item, counts in part.distributions.items():
            into = distributions.setdefault(item, {})
            for value, count in counts.items():
                into[value] = into.get(value, 0) + count
    return GroupStatistics(
        respondents=sum(p.respondents for p in parts),
        instrument=pool_moments(p.instrument for p in parts),
        scales={k: pool_moments(p.scales[k] for p in parts) for k in scales},
        distributions=distributions,
    )


@dataclass(frozen=True)
class SufficientStatistics:
    """A jurisdiction's (or the nation's) statistics: per language, plus ICC sums per scale.

    ICC sums are per jurisdiction, not per language: a team has speakers of both languages.
    """

    groups: Mapping[str, GroupStatistics]
    anova: Mapping[str, AnovaSums]

    def combined(self) -> GroupStatistics:
        """Every language together."""
        return pool_groups(self.groups[k] for k in sorted(self.groups))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "groups": {k: g.to_dict() for k, g in sorted(self.groups.items())},
            "anova": {k: a.to_dict() for k, a in self.anova.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SufficientStatistics:
        """Read :meth:`to_dict` back; ``ValueError``, ``KeyError`` or ``TypeError`` if malformed."""
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown statistics format {data.get('format')!r}")
        return cls(
            groups={str(k): GroupStatistics.from_dict(g) for k, g in data["groups"].items()},
            anova={str(k): AnovaSums.from_dict(a) for k, a in data["anova"].items()},
        )


def _check_scales(items: pd.DataFrame, scales: Mapping[str, Sequence[str]]) -> list[str]:
    if not scales:
        raise ValueError("no scale given")
    order: list[str] = []
    for key, members in scales.items():
        if not members:
            raise ValueError(f"scale {key!r} has no item")
        missing = [i for i in members if i not in items.columns]
        if missing:
            raise ValueError(f"scale {key!r}: no column {', '.join(map(repr, missing))}")
        order.extend(i for i in members if i not in order)
    return order


def sufficient_statistics(
    items: pd.DataFrame,
    scales: Mapping[str, Sequence[str]],
    *,
    points: int | Mapping[str, int],
    language: pd.Series | np.ndarray | None = None,
    unit: pd.Series | np.ndarray | None = None,
) -> SufficientStatistics:
    """Sufficient statistics of one jurisdiction's answers.

    Parameters
    ----------
    items : pandas.DataFrame
        One row per respondent and one column per item, already reverse-scored
        (y = points + 1 - x for reverse-keyed items); NaN is a missing answer.
    scales : Mapping[str, Sequence[str]]
        Scale key → its items (the CFA model: one factor per scale).
    points : int or Mapping[str, int]
        Answer options of the items (or per scale); used for the 0–100 respondent scale score
        of the ICCs.
    language : array-like, optional
        Language of each row (default: every row ``"all"``).
    unit : array-like, optional
        Unit (team) of each row for the ICC sums; without it the ICC sums are empty.

    Returns
    -------
    SufficientStatistics
        Per language: respondents, moments listwise within the instrument, per scale moments
        listwise within the scale, and per item answer counts; per scale ANOVA sums.

    Notes
    -----
    Missing-data rules: CFA and invariance use the rows complete on every item of the
    instrument (lavaan ``missing = "listwise"``); alpha, omega and item-total r use the rows
    complete on the scale (``psych::alpha(na.omit(x))``); ICC uses respondents who answered more
    than half of the scale's items, scored (mean - 1) / (points - 1) · 100, and who have a unit
    (``aov(score ~ unit)``). Rows answering nothing change nothing.
    """
    order = _check_scales(items, scales)
    n_rows = items.shape[0]
    lang = (
        np.full(n_rows, "all", dtype=object)
        if language is None
        else np.asarray(pd.Series(language).astype(str).to_numpy())
    )
    if lang.shape[0] != n_rows:
        raise ValueError("language must have one label per row")
    data = items[order].astype(np.float64)
    answered = data.notna().any(axis=1).to_numpy()
    groups: dict[str, GroupStatistics] = {}
    for key in sorted(set(lang[answered])):
        rows = data[(lang == key) & answered]
        distributions = {
            item: {int(v): int(c) for v, c in rows[item].value_counts().sort_index().items()}
            for item in order
        }
        groups[str(key)] = GroupStatistics(
            respondents=int(rows.shape[0]),
            instrument=moments(rows),
            scales={s: moments(rows[list(members)]) for s, members in scales.items()},
            distributions=distributions,
        )
    anova: dict[str, AnovaSums] = {}
    if unit is not None:
        units = np.asarray(pd.Series(unit).to_numpy())
        if units.shape[0] != n_rows:
            raise ValueError("unit must have one label per row")
        for s, members in scales.items():
            span = (points if isinstance(points, int) else points[s]) - 1
            block = data[list(members)]
            enough = block.notna().sum(axis=1).to_numpy() >= len(members) // 2 + 1
            score = np.where(enough, (block.mean(axis=1).to_numpy() - 1.0) / span * 100.0, np.nan)
            anova[s] = anova_sums(score, units)
    return SufficientStatistics(groups=groups, anova=anova)


def pool(parts: Iterable[SufficientStatistics]) -> SufficientStatistics:
    """The nation's statistics from its jurisdictions' (disjoint respondents and units)."""
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to pool")
    languages = sorted({k for p in parts for k in p.groups})
    scales = sorted({k for p in parts for k in p.anova})
    return SufficientStatistics(
        groups={
            lang: pool_groups(p.groups[lang] for p in parts if lang in p.groups)
            for lang in languages
        },
        anova={s: pool_anova(p.anova[s] for p in parts if s in p.anova) for s in scales},
    )


def reliability_from_moments(m: Moments) -> Reliability:
    """Alpha, Feldt interval, item-total r, alpha if deleted and omega from a scale's moments.

    The same formulas as :func:`scoring.reliability` with C = comoment / (n - 1) and R its
    correlation matrix; on listwise-complete rows both give the same numbers, as does
    ``psych::alpha(na.omit(x))`` and ``psych::omega(na.omit(x), nfactors = 1)``.
    """
    c = m.covariance(ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.diag(c))
        cor = c / np.outer(sd, sd)
    np.fill_diagonal(cor, 1.0)
    return reliability_from_covariance(c, cor, m.n, list(m.items))
