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


@dataclass(frozen=True)
class PairSums:
    """Pairwise sums of one language group's raw answers (before reverse-scoring).

    For items a and b, over the respondents who answered both: ``n[a, b]``, ``s[a, b]`` = Σ x_a
    (so ``s[b, a]`` = Σ x_b) and ``q[a, b]`` = Σ x_a x_b. Every entry adds up over disjoint groups
    of respondents, so pooling jurisdictions is exact. This is what the mixer keeps per language
    (``app.services.background``): a response never carries its language.
    """

    items: tuple[str, ...]
    respondents: int
    n: FloatArray
    s: FloatArray
    q: FloatArray

    def items_of(self, a: int, b: int) -> tuple[str, str]:
        return self.items[a], self.items[b]

    def to_dict(self) -> dict[str, Any]:
        p = len(self.items)
        pairs = [
            [*self.items_of(a, b), int(self.n[a, b]), self.s[a, b], self.s[b, a], self.q[a, b]]
            for a in range(p)
            for b in range(a, p)
            if self.n[a, b] > 0
        ]
        return {"respondents": self.respondents, "items": list(self.items), "pairs": pairs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PairSums:
        items = tuple(str(i) for i in data["items"])
        position = {item: i for i, item in enumerate(items)}
        p = len(items)
        n, s, q = np.zeros((p, p)), np.zeros((p, p)), np.zeros((p, p))
        for item_a, item_b, pair_n, sum_a, sum_b, sum_ab in data["pairs"]:
            a, b = position[str(item_a)], position[str(item_b)]
            n[a, b] = n[b, a] = int(pair_n)
            s[a, b], s[b, a] = float(sum_a), float(sum_b)
            q[a, b] = q[b, a] = float(sum_ab)
        respondents = int(data["respondents"])
        if respondents < 0 or (n < 0).any() or not (np.isfinite(s).all() and np.isfinite(q).all()):
            raise ValueError("pair sums: counts must be ≥ 0 and every number finite")
        return cls(items, respondents, n, s, q)


def pair_sums(items: pd.DataFrame) -> PairSums:
    """:class:`PairSums` of the rows of ``items`` (raw answers, NaN = not answered)."""
    x = items.to_numpy(dtype=np.float64, na_value=np.nan)
    answered = (~np.isnan(x)).astype(np.float64)
    values = np.where(answered == 1.0, x, 0.0)
    respondents = int(answered.any(axis=1).sum())
    return PairSums(
        tuple(map(str, items.columns)),
        respondents,
        answered.T @ answered,
        values.T @ answered,
        values.T @ values,
    )


def pool_pair_sums(parts: Iterable[PairSums]) -> PairSums:
    """Pair sums of the union of disjoint groups (every entry adds up)."""
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to pool")
    items = parts[0].items
    if any(p.items != items for p in parts):
        raise ValueError("cannot pool pair sums of different items")
    return PairSums(
        items,
        sum(p.respondents for p in parts),
        sum((p.n for p in parts), np.zeros_like(parts[0].n)),
        sum((p.s for p in parts), np.zeros_like(parts[0].s)),
        sum((p.q for p in parts), np.zeros_like(parts[0].q)),
    )


def pairwise_moments(
    sums: PairSums, reverse: Mapping[str, int]
) -> tuple[int, FloatArray, FloatArray]:
    """``(n, means, covariance with divisor n)`` for a CFA, after reverse-scoring.

    Parameters
    ----------
    sums : PairSums
        Raw answers' pair sums.
    reverse : Mapping[str, int]
        Reverse-keyed item → its number of answer options P (y = P + 1 - x).

    Notes
    -----
    Pairwise deletion (R ``cov(x, use = "pairwise.complete.obs")``): each covariance uses the
    respondents who answered both items, each mean everyone who answered the item, and the one n
    a CFA needs is the smallest pair count (the conservative choice). When every respondent
    answered every item this is exactly the listwise moments: the same as :func:`moments`.
    Reverse-scoring changes only signs and means: cov(y_a, x_b) = -cov(x_a, x_b) and
    mean(y_a) = P + 1 - mean(x_a).
    """
    n = sums.n
    if (n < 2).any():
        raise ValueError("a pair of items was answered together by fewer than 2 respondents")
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (sums.q - sums.s * sums.s.T / n) / (n - 1.0)
    mean = np.diag(sums.s) / np.diag(n)
    sign = np.array([-1.0 if item in reverse else 1.0 for item in sums.items])
    flip = np.array([float(reverse.get(item, 0) + 1) for item in sums.items])
    mean = np.where(sign < 0, flip - mean, mean)
    cov = cov * np.outer(sign, sign)
    total = int(n.min())
    out: FloatArray = (cov + cov.T) / 2.0 * (total - 1.0) / total
    return total, mean, out


#: The usual rule for a step of measurement invariance (Cheung & Rensvold 2002): CFI drops by at
#: most .01 from the step before.
DELTA_CFI = 0.01
_STEPS = ("configural", "metric", "scalar")


@dataclass(frozen=True)
class ScaleInvariance:
    """One scale's invariance across groups, fitted as a one-factor model on its own items.

    ``cfi`` per step (None where the model has no degrees of freedom or did not converge);
    ``broken``: the first step whose CFI drops by more than :data:`DELTA_CFI` (None: none does,
    or it cannot be told); ``items``: the items whose removal brings that step back within the
    rule (or, when no single one does, the one that helps most).
    """

    scale: str
    cfi: dict[str, float | None]
    broken: str | None
    items: tuple[str, ...]


def _cfis(fits: Mapping[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(_STEPS)
    for step, fit in fits.items():
        if fit.converged and fit.df == 0:
            # A just-identified model reproduces the moments exactly: χ² = 0, so CFI = 1.
            out[step] = 1.0
        elif fit.converged and math.isfinite(fit.cfi):
            out[step] = float(fit.cfi)
        else:
            out[step] = None
    return out


def first_broken_step(cfi: Mapping[str, float | None]) -> str | None:
    """The first of metric, scalar whose CFI falls more than :data:`DELTA_CFI` below the step
    before (None if none does or a CFI is missing)."""
    for before, step in (("configural", "metric"), ("metric", "scalar")):
        a, b = cfi.get(before), cfi.get(step)
        if a is None or b is None:
            return None
        if a - b > DELTA_CFI + 1e-12:
            return step
    return None


def _subset(
    groups: Sequence[tuple[int, FloatArray, FloatArray]], index: Sequence[int]
) -> list[tuple[int, FloatArray, FloatArray]]:
    return [(n, mean[list(index)], cov[np.ix_(index, index)]) for n, mean, cov in groups]


def scale_invariance(
    groups: Sequence[tuple[int, FloatArray, FloatArray]],
    items: Sequence[str],
    scales: Mapping[str, Sequence[str]],
) -> list[ScaleInvariance]:
    """Configural, metric and scalar invariance of each scale on its own, and what breaks it.

    Parameters
    ----------
    groups : sequence of (n, means, covariance with divisor n)
        One per group (jurisdiction or language), over ``items``.
    items : Sequence[str]
        Item of each mean and row/column.
    scales : Mapping[str, Sequence[str]]
        Scale → its items.

    Notes
    -----
    Each scale is the one-factor model of :func:`scoring.invariance_from_moments` on its items
    (lavaan ``cfa("f =~ i1 + i2 + ...", group = ..., group.equal = ...)``). A scale with three
    items has no degrees of freedom at the configural step: that model fits exactly (CFI 1).
    For a scale of four or more items whose metric or scalar step breaks the ΔCFI rule,
    each item is left out in turn and the two steps refitted: the items whose removal restores
    the rule are the ones that break it. This is a leave-one-out screen, not a partial
    invariance model.
    """
    from scoring.cfa import invariance_from_moments

    position = {item: i for i, item in enumerate(items)}
    out: list[ScaleInvariance] = []
    for key, members in scales.items():
        index = [position[i] for i in members]
        fits = invariance_from_moments(_subset(groups, index), list(members), {key: list(members)})
        cfi = _cfis(fits)
        broken = first_broken_step(cfi)
        culprits: tuple[str, ...] = ()
        if broken is not None and len(members) >= 4:
            before = _STEPS[_STEPS.index(broken) - 1]
            gaps: dict[str, float] = {}
            for drop in members:
                rest = [i for i in members if i != drop]
                sub = invariance_from_moments(
                    _subset(groups, [position[i] for i in rest]),
                    rest,
                    {key: rest},
                    steps=(before, broken),
                )
                c = _cfis(sub)
                a, b = c[before], c[broken]
                if a is not None and b is not None:
                    gaps[drop] = a - b
            within = tuple(i for i in members if i in gaps and gaps[i] <= DELTA_CFI + 1e-12)
            if within:
                culprits = within
            elif gaps:
                culprits = (min(gaps, key=lambda i: gaps[i]),)
        out.append(ScaleInvariance(key, cfi, broken, culprits))
    return out
