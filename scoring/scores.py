"""Scoring one survey wave: respondent scale scores, unit and item statistics, with suppression."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring import disclosure
from scoring._distributions import t_quantile
from scoring.agreement import icc_from_codes, rwg_j_from_codes
from scoring.intervals import percentile_rank, percentiles
from scoring.reliability import Reliability, reliability
from surveys.model import Instrument, Scale

#: Straight-lining is only judged on respondents who answered at least this many core items.
STRAIGHTLINE_MIN_ITEMS = 15
_BENCHMARK_LEVELS = (10, 25, 50, 75, 90)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


class ResponseError(ValueError):
    """A response table that cannot be scored; ``row`` is the 0-based row position or None."""

    def __init__(self, problem: str, *, row: int | None = None, column: str | None = None):
        self.problem = problem
        self.row = row
        self.column = column
        where = []
        if row is not None:
            where.append(f"row {row + 1}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


@dataclass(frozen=True)
class RespondentCounts:
    """Rows in the input, respondents counted (≥ 1 scale score), straight-liners left out."""

    total: int
    scored: int
    excluded_straightlining: int


@dataclass(frozen=True)
class Percentages:
    """% positive / neutral / negative (0–100); ``None`` when nothing was answered or hidden."""

    positive: float | None
    neutral: float | None
    negative: float | None


_T = TypeVar("_T")


class UnitResults(Mapping[str, _T]):
    """Read-only unit → result mapping, in unit-name order.

    A national wave has thousands of units per scale and per item, so the figures are kept as
    JSON-ready columns and each typed result is built when it is looked up.
    """

    __slots__ = ("_build", "_columns", "_index", "_names")

    def __init__(
        self,
        names: Sequence[str],
        index: Mapping[str, int],
        columns: Mapping[str, list[Any]],
        build: Callable[[str, Mapping[str, Any]], _T],
    ) -> None:
        self._names = names
        self._index = index
        self._columns = columns
        self._build = build

    def __getitem__(self, name: str) -> _T:
        i = self._index[name]
        return self._build(name, {k: col[i] for k, col in self._columns.items()})

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def as_dicts(self) -> dict[str, dict[str, Any]]:
        """Unit → plain dict of its JSON fields (null where suppressed or undefined)."""
        keys = list(self._columns)
        columns = self._columns.values()
        rows = [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]
        return dict(zip(self._names, rows, strict=True))


@dataclass(frozen=True)
class UnitScaleResult:
    """One unit on one scale; every statistic is ``None`` when ``suppressed``."""

    unit: str
    n: int
    suppressed: bool
    mean: float | None
    ci: tuple[float, float] | None
    pct: Percentages
    rwg_j: float | None
    percentile: float | None


@dataclass(frozen=True)
class Benchmark:
    """Percentiles of shown units' scale % positive, every unit weighted equally."""

    p10: float
    p25: float
    p50: float
    p75: float
    p90: float


@dataclass(frozen=True)
class ScaleResult:
    """One scale over the whole wave, and per unit.

    ``hidden`` holds every suppressed node of the unit tree (inner nodes included), so that
    reports showing parent units use the very same disclosure decision.
    """

    key: str
    higher_is_better: bool
    n: int
    mean: float | None
    sd: float | None
    pct: Percentages
    reliability: Reliability
    icc1: float | None
    icc2: float | None
    benchmark: Benchmark | None
    units: UnitResults[UnitScaleResult]
    hidden: frozenset[str]


@dataclass(frozen=True)
class UnitItemResult:
    """One unit on one item: ``n`` answers; percentages ``None`` when suppressed."""

    unit: str
    n: int
    suppressed: bool
    pct: Percentages


@dataclass(frozen=True)
class ItemResult:
    """One item over the whole wave (``n`` non-missing answers) and per unit."""

    key: str
    scale: str
    reverse: bool
    n: int
    pct: Percentages
    units: UnitResults[UnitItemResult]


@dataclass(frozen=True, eq=False)
class WaveScores:
    """Everything :func:`score` computes for one wave.

    ``respondent_scores`` has one row per counted respondent (index: the input row labels),
    a ``unit`` column and one column of 0–100 scores per scale (NaN: no score on that scale).
    """

    instrument_key: str
    instrument_version: str
    min_n: int
    respondents: RespondentCounts
    scales: Mapping[str, ScaleResult]
    items: Mapping[str, ItemResult]
    respondent_scores: pd.DataFrame
    warnings: tuple[str, ...]

    def to_dict(self, *, item_units: bool = True) -> dict[str, Any]:
        """Plain JSON-ready data (no NaN: undefined values are ``None``).

        ``item_units`` adds a ``"units"`` map under each item (item bars per unit, suppressed
        units null): an extension of the CLI's JSON, which leaves it out unless asked.
        """
        return {
            "instrument": {"key": self.instrument_key, "version": self.instrument_version},
            "respondents": {
                "total": self.respondents.total,
                "scored": self.respondents.scored,
                "excluded_straightlining": self.respondents.excluded_straightlining,
            },
            "scales": {key: _scale_dict(s) for key, s in self.scales.items()},
            "items": {key: _item_dict(i, item_units) for key, i in self.items.items()},
            "warnings": list(self.warnings),
        }


def _pct_dict(p: Percentages) -> dict[str, float | None]:
    return {"pct_positive": p.positive, "pct_neutral": p.neutral, "pct_negative": p.negative}


def _scale_dict(s: ScaleResult) -> dict[str, Any]:
    r = s.reliability
    return {
        "n": s.n,
        "mean": s.mean,
        "sd": s.sd,
        **_pct_dict(s.pct),
        "reliability": {
            "alpha": _finite(r.alpha),
            "alpha_ci": None if r.alpha_ci is None else [_finite(v) for v in r.alpha_ci],
            "omega_total": _finite(r.omega_total),
            "n_complete": r.n_complete,
            "item_total": {k: _finite(v) for k, v in r.item_total.items()},
            "alpha_if_deleted": {k: _finite(v) for k, v in r.alpha_if_deleted.items()},
            "status": r.status,
        },
        "icc1": s.icc1,
        "icc2": s.icc2,
        "benchmark": None
        if s.benchmark is None
        else {f"p{q}": getattr(s.benchmark, f"p{q}") for q in _BENCHMARK_LEVELS},
        "units": s.units.as_dicts(),
    }


def _item_dict(i: ItemResult, with_units: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"n": i.n, **_pct_dict(i.pct)}
    if with_units:
        out["units"] = i.units.as_dicts()
    return out


def _finite(x: float | None) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


_NO_PCT = Percentages(None, None, None)


def score(
    responses: pd.DataFrame,
    instrument: Instrument,
    *,
    unit: str = "unit",
    min_n: int = 5,
    exclude_straightlining: bool = True,
    tree: Mapping[str, str | None] | None = None,
) -> WaveScores:
    """Score one wave: respondent scale scores, scale, unit and item statistics.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per respondent: a ``unit`` column and one column per item key holding the raw
        answer, an integer ``1..points`` or missing (NaN / None). Other columns are ignored.
    instrument : surveys.Instrument
        The instrument the answers belong to.
    unit : str
        Name of the unit column.
    min_n : int
        Minimum number of respondents for a unit's figures to be shown (at least
        :data:`scoring.disclosure.MIN_REPORT_N_FLOOR`).
    exclude_straightlining : bool
        Leave out respondents who gave the same raw answer to every one of at least 15
        answered items (reverse-keyed items included). They are counted either way.
    tree : Mapping[str, str | None], optional
        Unit → parent unit for complementary suppression over the real organisation tree;
        by default every unit is a child of one implicit root (the overall figure).

    Returns
    -------
    WaveScores
        Typed results per scale, item and unit; ``to_dict()`` gives the CLI's JSON.

    Raises
    ------
    ResponseError
        (a ``ValueError``) for a missing unit or item column, a missing unit, or an answer that
        is not an integer in ``1..points``; it names the row position and the column.
    ValueError
        If ``min_n`` is below 3 or the tree has a cycle.

    Notes
    -----
    * Reversing: ``y = points + 1 - x`` for reverse-keyed items; answers are stored raw.
    * Respondent scale score: needs at least ``floor(k / 2) + 1`` of the scale's k items
      answered; ``score = (mean(y) - 1) / (points - 1) * 100``. A respondent counts if they
      have at least one scale score (and are not an excluded straight-liner). A unit's ``n``
      on a scale is the number of its respondents with a score on that scale.
    * Item % positive / neutral / negative: share of the unit's non-missing answers with
      ``y >= positive_from`` / in between / ``y <= negative_to``. Scale % is the unweighted
      mean over the scale's items answered *and shown* in the unit ("average across items",
      AHRQ), so that no hidden item is the headline minus the shown ones.
    * Unit mean: mean score with a 95% t interval ``mean ± t(.975, n - 1) · sd / sqrt(n)``
      (R: ``t.test(score)$conf.int``).
    * Reliability: :func:`scoring.reliability` on the reversed items of counted respondents
      (R: ``psych::alpha``). ``icc1``/``icc2``: :func:`scoring.icc` on respondent scores by unit
      (R: ``multilevel::ICC1(aov(score ~ unit))``). ``rwg_j``: :func:`scoring.rwg_j`, listwise
      within the scale (R: ``multilevel::rwg.j(x, unit, ranvar = (points^2 - 1) / 12)``).
    * Benchmark: ``numpy.percentile(..., method="linear")`` (R ``quantile(type = 7)``) of shown
      units' % positive; a unit's percentile is its mid-rank among shown units,
      ``100 * (below + ties / 2) / N`` with ties counting itself (:func:`scoring.percentile_rank`,
      the one percentile rank of the project).
    * Disclosure: :func:`scoring.disclosure.suppress` per scale on units' ``n`` and per item on
      units' answer counts; a suppressed unit keeps only ``n``. Every node of ``tree`` counts
      as published unless suppressed (reports show parents), and the overall figures of a
      scale or item are hidden when fewer than ``min_n`` respondents (answers) stand behind
      them.
    * Missing data never produce NaN: undefined values are ``None`` and a warning says why.
    """
    disclosure.check_min_n(min_n)
    warnings: list[str] = []
    item_keys = list(instrument.item_keys)
    x, units_raw = _validated_matrix(responses, instrument, unit)
    n_rows = x.shape[0]

    answered = ~np.isnan(x)
    n_answered = answered.sum(axis=1)
    lo = np.fmin.reduce(x, axis=1)  # fmin / fmax skip NaN (a row with no answer: NaN)
    hi = np.fmax.reduce(x, axis=1)
    straight = (n_answered >= STRAIGHTLINE_MIN_ITEMS) & (lo == hi)
    n_straight = int(straight.sum())
    if not exclude_straightlining and n_straight:
        warnings.append(f"{n_straight} straight-lining respondents are included (not excluded)")

    y = x.copy(order="K")
    for j, item in enumerate(instrument.items):
        if item.reverse:
            points = instrument.scale_of(item.key).response_scale.points
            y[:, j] = points + 1 - y[:, j]

    column_of = {key: j for j, key in enumerate(item_keys)}
    raw_scores = np.full((n_rows, len(instrument.scales)), np.nan)
    for s, scale in enumerate(instrument.scales):
        cols = [column_of[k] for k in scale.item_keys]
        raw_scores[:, s] = _scale_scores(y[:, cols], scale)
    counted = np.isfinite(raw_scores).any(axis=1)
    if exclude_straightlining:
        counted &= ~straight

    rows = np.flatnonzero(counted)
    y = y[rows]
    sc = raw_scores[rows]
    codes_all, names = pd.factorize(units_raw, sort=True)
    unit_names = [str(u) for u in names]
    blank = [i for i, u in enumerate(unit_names) if not u.strip()]
    if blank:
        row = int(np.argmax(codes_all == blank[0]))
        raise ResponseError("the unit is empty", row=row, column=unit)
    codes: IntArray = codes_all[rows].astype(np.intp)
    n_units = len(unit_names)
    unit_labels = units_raw[rows]

    units = _Units(unit_names, tree, warnings)

    # Every unit's t quantile at once: the scales share a few hundred unit sizes.
    unit_n = np.stack(
        [np.bincount(codes[~np.isnan(sc[:, s])], minlength=n_units) for s in range(sc.shape[1])]
    )
    t_unit = _t975(unit_n - 1)

    scales: dict[str, ScaleResult] = {}
    items: dict[str, ItemResult] = {}
    for s, scale in enumerate(instrument.scales):
        cols = [column_of[k] for k in scale.item_keys]
        base = codes * (scale.response_scale.points + 1)
        item_stats = [_item_counts(y[:, j], base, n_units, scale) for j in cols]
        for key, j, counts in zip(scale.item_keys, cols, item_stats, strict=True):
            reverse = instrument.items[j].reverse
            items[key] = _item_result(key, scale, reverse, counts, units, min_n, warnings)
        item_hidden = [
            np.asarray(items[key].units._columns["suppressed"], dtype=bool)
            for key in scale.item_keys
        ]
        scales[scale.key] = _scale_result(
            scale,
            sc[:, s],
            y[:, cols],
            codes,
            unit_labels,
            units,
            item_stats,
            item_hidden,
            t_unit[s],
            min_n,
            warnings,
        )
    items = {key: items[key] for key in item_keys}

    frame = pd.DataFrame(
        sc, index=responses.index[rows], columns=[s.key for s in instrument.scales]
    )
    frame.insert(0, "unit", pd.Series(unit_labels, index=frame.index, dtype=object))
    return WaveScores(
        instrument_key=instrument.key,
        instrument_version=instrument.version,
        min_n=min_n,
        respondents=RespondentCounts(
            total=n_rows,
            scored=int(rows.size),
            excluded_straightlining=n_straight if exclude_straightlining else 0,
        ),
        scales=scales,
        items=items,
        respondent_scores=frame,
        warnings=tuple(warnings),
    )


def _validated_matrix(
    responses: pd.DataFrame, instrument: Instrument, unit: str
) -> tuple[FloatArray, np.ndarray[Any, np.dtype[np.object_]]]:
    """Raw answers as floats (NaN missing) and unit labels as strings; ResponseError if bad."""
    if unit not in responses.columns:
        raise ResponseError(f"the unit column {unit!r} is missing", column=unit)
    missing = [k for k in instrument.item_keys if k not in responses.columns]
    if missing:
        raise ResponseError("item column(s) missing: " + ", ".join(missing), column=missing[0])
    labels = responses[unit]
    absent = labels.isna().to_numpy()
    if absent.any():
        raise ResponseError("the unit is missing", row=int(np.argmax(absent)), column=unit)
    unit_values = labels.astype(str).to_numpy(dtype=object)

    # Column-major: every later step works on one item (column) at a time.
    x = np.empty((len(responses), len(instrument.item_keys)), dtype=np.float64, order="F")
    for j, item in enumerate(instrument.items):
        points = instrument.scale_of(item.key).response_scale.points
        x[:, j] = _answers(responses[item.key], item.key, points)
    return x, unit_values


def _answers(column: pd.Series, key: str, points: int) -> FloatArray:
    """One item column as floats, checking every present value is an integer in 1..points."""
    if pd.api.types.is_bool_dtype(column.dtype):
        raise ResponseError("answers must be integers, not true/false", row=0, column=key)
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        text: np.ndarray[Any, np.dtype[np.object_]] | None = None
    else:
        text = column.to_numpy(dtype=object)
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~column.isna().to_numpy()
        blank = np.array([isinstance(v, str) and not v.strip() for v in text], dtype=bool)
        bad = present & ~blank & np.isnan(values)
        if bad.any():
            row = int(np.argmax(bad))
            raise ResponseError(f"'{text[row]}' is not an integer", row=row, column=key)
    present_values = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        fractional = present_values & (values != np.round(values))
        outside = present_values & ((values < 1) | (values > points))
    for problem, mask in (("is not an integer", fractional), (f"is outside 1..{points}", outside)):
        if mask.any():
            row = int(np.argmax(mask))
            raise ResponseError(
                f"'{_as_written(text, values, row)}' {problem}", row=row, column=key
            )
    return values


def _as_written(
    text: np.ndarray[Any, np.dtype[np.object_]] | None, values: FloatArray, row: int
) -> str:
    """A cell as the user wrote it (numeric columns: 6, 2.5)."""
    if text is not None:
        return str(text[row])
    v = float(values[row])
    return str(int(v)) if v.is_integer() else repr(v)


def _scale_scores(y: FloatArray, scale: Scale) -> FloatArray:
    """0–100 score per row, NaN unless more than half of the scale's items were answered."""
    k = y.shape[1]
    points = scale.response_scale.points
    ok = ~np.isnan(y)
    count = ok.sum(axis=1)
    total = np.where(ok, y, 0.0).sum(axis=1)
    enough = count >= k // 2 + 1
    out = np.full(y.shape[0], np.nan)
    out[enough] = (total[enough] / count[enough] - 1.0) / (points - 1) * 100.0
    return out


@dataclass(frozen=True)
class _Counts:
    """Per-unit answer counts of one item (arrays over units) and the overall totals."""

    n: IntArray
    positive: IntArray
    negative: IntArray


def _item_counts(y: FloatArray, base: IntArray, n_units: int, scale: Scale) -> _Counts:
    """Answers per unit split into negative / neutral / positive, in one bincount.

    ``base`` is each row's unit code × (points + 1): a row adds to the bin of its answer, a
    missing answer to bin 0 (answers are validated whole numbers 1..points).
    """
    rs = scale.response_scale
    width = rs.points + 1
    answer = np.nan_to_num(y, nan=0.0).astype(np.intp)
    table = np.bincount(base + answer, minlength=width * n_units).reshape(n_units, width)
    return _Counts(
        n=table[:, 1:].sum(axis=1).astype(np.intp),
        positive=table[:, rs.positive_from :].sum(axis=1).astype(np.intp),
        negative=table[:, 1 : rs.negative_to + 1].sum(axis=1).astype(np.intp),
    )


def _shares(n: IntArray, positive: IntArray, negative: IntArray) -> FloatArray:
    """(units × 3) percentages positive/neutral/negative; NaN rows where n is 0."""
    out = np.full((n.size, 3), np.nan)
    has = n > 0
    pos = positive[has] / n[has] * 100.0
    neg = negative[has] / n[has] * 100.0
    out[has, 0] = pos
    out[has, 2] = neg
    out[has, 1] = (n[has] - positive[has] - negative[has]) / n[has] * 100.0
    return out


def _pct(row: FloatArray) -> Percentages:
    if np.isnan(row[0]):
        return _NO_PCT
    return Percentages(float(row[0]), float(row[1]), float(row[2]))


def _item_result(
    key: str,
    scale: Scale,
    reverse: bool,
    counts: _Counts,
    units: _Units,
    min_n: int,
    warnings: list[str],
) -> ItemResult:
    n_total = int(counts.n.sum())
    overall = _shares(
        np.array([n_total]), np.array([counts.positive.sum()]), np.array([counts.negative.sum()])
    )[0]
    pct = _pct(overall)
    if n_total == 0:
        warnings.append(f"item {key}: no answers; percentages are null")
    elif disclosure.is_too_small(n_total, min_n):
        pct = _NO_PCT
        warnings.append(f"item {key}: only {n_total} answers (< {min_n}); percentages hidden")
    hidden, _ = units.hide(counts.n, min_n)
    shares = _shares(counts.n, counts.positive, counts.negative)
    columns = {
        "n": counts.n.tolist(),
        "suppressed": hidden.tolist(),
        "pct_positive": _column(shares[:, 0], hidden),
        "pct_neutral": _column(shares[:, 1], hidden),
        "pct_negative": _column(shares[:, 2], hidden),
    }
    table = UnitResults(units.names, units.index, columns, _unit_item)
    return ItemResult(key, scale.key, reverse, n_total, pct, table)


def _unit_item(name: str, row: Mapping[str, Any]) -> UnitItemResult:
    pct = Percentages(row["pct_positive"], row["pct_neutral"], row["pct_negative"])
    return UnitItemResult(name, row["n"], row["suppressed"], pct)


def _unit_scale(name: str, row: Mapping[str, Any]) -> UnitScaleResult:
    pct = Percentages(row["pct_positive"], row["pct_neutral"], row["pct_negative"])
    ci = None if row["ci"] is None else (row["ci"][0], row["ci"][1])
    return UnitScaleResult(
        name, row["n"], row["suppressed"], row["mean"], ci, pct, row["rwg_j"], row["percentile"]
    )


def _column(values: FloatArray, hidden: BoolArray) -> list[float | None]:
    """JSON-ready list: None where hidden or not finite."""
    out = values.astype(object)
    out[hidden | ~np.isfinite(values)] = None
    return list(out.tolist())


class _Units:
    """The units of a wave (sorted names) and the tree every disclosure decision runs over."""

    def __init__(
        self, names: list[str], tree: Mapping[str, str | None] | None, warnings: list[str]
    ) -> None:
        self.names = names
        self.index = {name: i for i, name in enumerate(names)}
        if tree is not None:
            known = set(tree) | {p for p in tree.values() if p is not None}
            strays = [u for u in names if u not in known]
            if strays:
                warnings.append(
                    f"{len(strays)} unit(s) not in the unit tree are treated as top-level: "
                    + ", ".join(strays[:10])
                )
        self.tree = disclosure.UnitTree(tree or {}, names)
        self.position = np.array([self.tree.index[n] for n in names], dtype=np.intp)

    def hide(self, n: IntArray, min_n: int) -> tuple[BoolArray, frozenset[str]]:
        """Suppression mask over the units, and every hidden node of the tree."""
        direct = np.zeros(len(self.tree.names), dtype=np.int64)
        direct[self.position] = n
        mask = self.tree.hidden(direct, min_n)
        every = frozenset(self.tree.names[i] for i in np.flatnonzero(mask))
        return mask[self.position], every


def _scale_result(
    scale: Scale,
    scores: FloatArray,
    y: FloatArray,
    codes: IntArray,
    unit_labels: np.ndarray[Any, np.dtype[np.object_]],
    units: _Units,
    item_stats: Sequence[_Counts],
    item_hidden: Sequence[BoolArray],
    t_unit: FloatArray,
    min_n: int,
    warnings: list[str],
) -> ScaleResult:
    """One scale's results; ``t_unit`` is t(.975, n - 1) per unit (NaN below n = 2)."""
    key = scale.key
    n_units = len(units.names)
    has = ~np.isnan(scores)
    n_total = int(has.sum())
    values = scores[has]
    g = codes[has]

    # Scale % = unweighted mean over items answered in the unit (or overall).
    unit_item_pct = np.stack([_shares(c.n, c.positive, c.negative) for c in item_stats])
    overall_item_pct = np.stack(
        [
            _shares(
                np.array([c.n.sum()]), np.array([c.positive.sum()]), np.array([c.negative.sum()])
            )[0]
            for c in item_stats
        ]
    )
    # Only items shown for the unit enter its headline: a hidden item must not be the
    # headline minus the shown items (the same rule as scoring.publish).
    for j, c in enumerate(item_stats):
        unit_item_pct[j, item_hidden[j]] = np.nan
        if disclosure.is_too_small(int(c.n.sum()), min_n):
            overall_item_pct[j] = np.nan
    unit_pct = _mean_over_answered(unit_item_pct)
    overall_pct = _mean_over_answered(overall_item_pct[:, None, :])[0]

    rel = reliability(pd.DataFrame(y, columns=list(scale.item_keys)))
    warnings.extend(f"scale {key}: reliability: {w}" for w in rel.warnings)

    mean: float | None = float(values.mean()) if n_total else None
    sd: float | None = float(values.std(ddof=1)) if n_total > 1 else None
    pct = _pct(overall_pct)
    if n_total == 0:
        warnings.append(f"scale {key}: no respondent has a score; statistics are null")
    elif disclosure.is_too_small(n_total, min_n):
        mean = sd = None
        pct = _NO_PCT
        warnings.append(f"scale {key}: only {n_total} respondents (< {min_n}); figures hidden")
    elif sd is None:
        warnings.append(f"scale {key}: sd undefined with one respondent")

    n_unit = np.bincount(g, minlength=n_units)
    hidden_mask, hidden = units.hide(n_unit, min_n)
    shown = ~hidden_mask

    with np.errstate(invalid="ignore", divide="ignore"):
        unit_mean = np.bincount(g, weights=values, minlength=n_units) / n_unit
        dev = values - unit_mean[g]
        unit_var = np.bincount(g, weights=dev * dev, minlength=n_units) / (n_unit - 1)
        half = t_unit * np.sqrt(unit_var / n_unit)

    agreement_icc = icc_from_codes(values, g, n_units)
    icc1, icc2 = _finite(agreement_icc.icc1), _finite(agreement_icc.icc2)
    if mean is None:
        icc1 = icc2 = None
    elif icc2 is not None and _means_all_equal(values, unit_mean[g]):
        # MSB is zero up to rounding: ICC(2) = (MSB - MSW) / MSB would be a huge arbitrary
        # number (R prints it); ICC(1) tends to -1 / (k - 1) and stays.
        icc2 = None
        warnings.append(f"scale {key}: ICC(2) undefined (every unit has the same mean score)")
    if mean is not None and icc1 is None:
        warnings.append(f"scale {key}: ICC(1) undefined (needs 2+ units and variation)")
    if mean is not None and agreement_icc.icc2 is None:
        warnings.append(f"scale {key}: ICC(2) undefined (needs 2+ units and variation)")

    rwg = _unit_rwg(y, codes, shown, scale)
    undefined_rwg = [
        n for n, ok, r in zip(units.names, shown, rwg, strict=True) if ok and r is None
    ]
    if undefined_rwg:
        warnings.append(
            f"scale {key}: rwg_j undefined for {len(undefined_rwg)} shown unit(s) with fewer "
            "than 2 complete answers: " + ", ".join(undefined_rwg[:10])
        )

    ranked = shown & np.isfinite(unit_pct[:, 0])  # a shown unit may have no shown item
    shown_pct = unit_pct[ranked, 0]
    percentile = np.full(n_units, np.nan)
    percentile[ranked] = _mid_ranks(shown_pct)
    benchmark = None
    if shown_pct.size:
        q = percentiles(shown_pct, _BENCHMARK_LEVELS)
        benchmark = Benchmark(*(float(v) for v in q))
    else:
        warnings.append(f"scale {key}: no unit can be shown; benchmark is null")

    lo = _column(unit_mean - half, hidden_mask)
    hi = _column(unit_mean + half, hidden_mask)
    columns = {
        "n": n_unit.tolist(),
        "suppressed": hidden_mask.tolist(),
        "mean": _column(unit_mean, hidden_mask),
        "ci": [None if a is None or b is None else [a, b] for a, b in zip(lo, hi, strict=True)],
        "pct_positive": _column(unit_pct[:, 0], hidden_mask),
        "pct_neutral": _column(unit_pct[:, 1], hidden_mask),
        "pct_negative": _column(unit_pct[:, 2], hidden_mask),
        "rwg_j": rwg,
        "percentile": _column(percentile, hidden_mask),
    }
    return ScaleResult(
        key=key,
        higher_is_better=scale.higher_is_better,
        n=n_total,
        mean=mean,
        sd=sd,
        pct=pct,
        reliability=rel,
        icc1=icc1,
        icc2=icc2,
        benchmark=benchmark,
        units=UnitResults(units.names, units.index, columns, _unit_scale),
        hidden=hidden,
    )


def _means_all_equal(values: FloatArray, own_unit_mean: FloatArray) -> bool:
    """Whether the between-unit sum of squares vanishes relative to the total (1e-12)."""
    centre = values.mean()
    between = float(((own_unit_mean - centre) ** 2).sum())
    total = float(((values - centre) ** 2).sum())
    return between <= 1e-12 * total


def _mean_over_answered(pct: FloatArray) -> FloatArray:
    """Mean over axis 0 (items) of (items × units × 3), skipping items with no answers."""
    ok = ~np.isnan(pct)
    count = ok.sum(axis=0)
    total = np.where(ok, pct, 0.0).sum(axis=0)
    out = np.full(total.shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def _t975(df: np.ndarray[Any, Any]) -> FloatArray:
    """Upper 97.5% point of Student's t (NaN where df < 1)."""
    d = np.asarray(df, dtype=np.float64)
    out = np.full(d.shape, np.nan)
    ok = d >= 1
    out[ok] = t_quantile(d[ok], 0.975)
    return out


def _unit_rwg(y: FloatArray, codes: IntArray, shown: BoolArray, scale: Scale) -> list[float | None]:
    """rwg(j) per unit (None where hidden or undefined); only shown units' rows are passed.

    Integer unit codes are passed as the groups: hashing strings is the costly part nationally.
    """
    out = np.full(shown.size, np.nan)
    if shown.any():
        mask = shown[codes]
        out = rwg_j_from_codes(y[mask], codes[mask], shown.size, points=scale.response_scale.points)
    return _column(out, ~shown)


def _mid_ranks(values: FloatArray) -> FloatArray:
    """Each value's percentile rank among all of them (:func:`scoring.percentile_rank`)."""
    if values.size == 0:
        return values
    return percentile_rank(values, values)
