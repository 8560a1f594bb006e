"""How the publication is computed: per-node sums over the tree, then every rule, vectorised.

Algorithm (one pass over respondents, then work per node only):

1. Validate answers as :func:`scoring.score` does; classify rows (counted, straight-lining,
   blank, comment-only, too few answers); reverse; respondent scale scores.
2. Per node, *direct* sums (rows sorted by node, ``numpy.add.reduceat``), then subtree sums
   (a sparse ancestry matrix): responses, item answer counts (answered, positive, negative),
   per scale n / Σ score / Σ score², complete-row sums for r*wg(j). The headline's variance
   Σ d_i² is summed once per depth of the tree (each row's ancestor at that depth).
3. Disclosure, each additive figure over the tree with :meth:`UnitTree.hidden` (primary
   threshold + complementary suppression; the implicit root is the overall figure):
   responses (min n); scale n (min n, plus every node whose responses are hidden); item
   answer counts (min n, plus every node where the scale is hidden); comments (comment min n,
   plus nodes whose responses are hidden). A union of safe patterns is safe: hiding a node
   whose remainder is 0 or ≥ the threshold adds that remainder to its nearest shown ancestor.
4. Headline % positive from the items shown at the node only; a mean score, its interval and
   r*wg(j) only where no item hidden at the node has answers (they would carry them).
5. Wave-level ICC(1)/(2) per scale, ranks and benchmarks with their rules, changes with Holm.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring import intervals
from scoring.agreement import AGREEMENT_CUTOFF, AGREEMENT_MIN_N
from scoring.disclosure import UnitTree, check_min_n
from scoring.publication import (
    Agreement,
    BenchmarkCell,
    Change,
    Count,
    Hidden,
    Interval,
    ItemCell,
    Peers,
    Publication,
    Rank,
    ScaleCell,
    ScaleOverview,
    Tally,
    UnitPublication,
)
from scoring.scores import (
    STRAIGHTLINE_MIN_ITEMS,
    ResponseError,
    _scale_scores,
    _validated_matrix,
)
from surveys.model import Instrument

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: ICC(2) below this: differences between units are not reliably detectable.
LOW_ICC2 = 0.60
#: Benchmarks need this many sharing jurisdictions, none holding more than half of the units.
MIN_BENCHMARK_JURISDICTIONS = 5

# Reason codes in the per-node arrays (0: shown).
_SHOWN, _TOO_FEW, _COMPLEMENTARY, _ITEM_HIDDEN, _AGREE_FEW, _COMMENT_FEW = range(6)
_NO_PREVIOUS, _PREVIOUS_HIDDEN, _NOT_SAME_ITEMS = 6, 7, 8
_FEW_UNITS, _FEW_JUR, _DOMINANT, _REVEALS, _NO_BENCH, _ICC2_LOW = 9, 10, 11, 12, 13, 14
_VERDICTS: tuple[Any, ...] = (None, "agrees", "differs")
_CHANGES: tuple[Any, ...] = (None, "up", "down", "no_clear_change")


def _reasons(min_n: int, comment_min_n: int) -> list[Hidden | None]:
    return [
        None,
        Hidden("too_few", min_n),
        Hidden("complementary"),
        Hidden("item_hidden"),
        Hidden("agreement_too_few", AGREEMENT_MIN_N),
        Hidden("too_few", comment_min_n),
        Hidden("no_previous"),
        Hidden("previous_hidden"),
        Hidden("no_previous_same_items"),
        Hidden("benchmark_too_few_units", intervals.MIN_RANK_UNITS),
        Hidden("benchmark_too_few_jurisdictions", MIN_BENCHMARK_JURISDICTIONS),
        Hidden("benchmark_dominant_jurisdiction"),
        Hidden("benchmark_reveals_jurisdiction"),
        Hidden("no_benchmark"),
        Hidden("icc2_low"),
    ]


@dataclass(eq=False)
class _ScaleTable:
    key: str
    items: tuple[str, ...]
    higher_is_better: bool
    n: IntArray
    reason: IntArray
    pct: FloatArray  # (nodes, 3) positive, neutral, negative
    pct_ci: FloatArray  # (nodes, 2)
    neff: FloatArray
    used: BoolArray  # (nodes, items)
    mean: FloatArray
    mean_ci: FloatArray
    mean_reason: IntArray
    rstar: FloatArray
    verdict: IntArray
    agree_reason: IntArray
    rank_j: FloatArray
    rank_j_n: IntArray
    rank_j_reason: IntArray
    rank_n: FloatArray
    rank_n_n: IntArray
    rank_n_reason: IntArray
    prev_pct: FloatArray
    delta: FloatArray
    delta_ci: FloatArray
    p: FloatArray
    p_holm: FloatArray
    change: IntArray
    change_reason: IntArray


@dataclass(eq=False)
class _ItemTable:
    key: str
    scale: str
    reverse: bool
    n: IntArray
    reason: IntArray
    pct: FloatArray
    ci: FloatArray


@dataclass(eq=False)
class _Table:
    """Every figure of the publication as arrays over nodes (the root last)."""

    names: list[str]
    parent: IntArray
    depth: IntArray
    kind: list[str]
    responses: IntArray
    responses_reason: IntArray
    invited: IntArray | None
    comments: IntArray | None
    comments_reason: IntArray
    shown: BoolArray
    scales: list[_ScaleTable]
    items: list[_ItemTable]
    reasons: list[Hidden | None]


def build(
    responses: pd.DataFrame,
    instrument: Instrument,
    tree: Mapping[str, str | None],
    *,
    unit: str,
    min_n: int,
    comment_min_n: int,
    comments: Mapping[str, int] | None,
    comment_column: str | None,
    invited: Mapping[str, int] | None,
    kinds: Mapping[str, str] | None,
    previous: Publication | None,
    peers: Peers | None,
    jurisdiction: str | None,
    exclude_straightlining: bool,
) -> Publication:
    """See :func:`scoring.publication.publish`."""
    check_min_n(min_n)
    check_min_n(comment_min_n)
    warnings: list[str] = []
    x, labels = _validated_matrix(responses, instrument, unit)
    codes, uniques = pd.factorize(labels, sort=True)
    data_units = [str(u) for u in uniques]
    blank_units = [i for i, u in enumerate(data_units) if not u.strip()]
    if blank_units:
        raise ResponseError(
            "the unit is empty", row=int(np.argmax(codes == blank_units[0])), column=unit
        )
    known = set(tree) | {p for p in tree.values() if p is not None}
    strays = [u for u in data_units if u not in known]
    if strays:
        warnings.append(
            f"{len(strays)} unit(s) not in the unit tree are treated as top-level: "
            + ", ".join(strays[:10])
        )
    ut = UnitTree(tree, data_units)
    size = len(ut.names)
    node = np.array([ut.index[u] for u in data_units], dtype=np.intp)[codes]
    reasons = _reasons(min_n, comment_min_n)

    # 1. rows
    answered = ~np.isnan(x)
    n_answered = answered.sum(axis=1)
    lo = np.where(answered, x, np.inf).min(axis=1)
    hi = np.where(answered, x, -np.inf).max(axis=1)
    straight = (n_answered >= STRAIGHTLINE_MIN_ITEMS) & (lo == hi)
    y = x.copy()
    for j, item in enumerate(instrument.items):
        if item.reverse:
            y[:, j] = instrument.scale_of(item.key).response_scale.points + 1 - y[:, j]
    column_of = {key: j for j, key in enumerate(instrument.item_keys)}
    scale_cols = [[column_of[k] for k in s.item_keys] for s in instrument.scales]
    scores = np.full((x.shape[0], len(instrument.scales)), np.nan)
    for s, scale in enumerate(instrument.scales):
        scores[:, s] = _scale_scores(y[:, scale_cols[s]], scale)
    has_score = np.isfinite(scores).any(axis=1)
    counted = has_score & ~straight if exclude_straightlining else has_score
    has_comment = np.zeros(x.shape[0], dtype=bool)
    if comment_column is not None:
        if comment_column not in responses.columns:
            raise ResponseError(f"the comment column {comment_column!r} is missing")
        text = responses[comment_column].to_numpy(dtype=object)
        has_comment = np.array([isinstance(t, str) and bool(t.strip()) for t in text])
    nothing = n_answered == 0
    tally = Tally(
        responses=int(x.shape[0]),
        counted=int(counted.sum()),
        straightlining=int((straight & has_score).sum()) if exclude_straightlining else 0,
        blank=int((nothing & ~has_comment).sum()),
        comment_only=int((nothing & has_comment).sum()),
        too_few_answers=int((~nothing & ~has_score).sum()),
    )
    if not exclude_straightlining and int((straight & has_score).sum()):
        warnings.append(
            f"{int((straight & has_score).sum())} straight-lining respondents are included"
        )

    # 2. sums per node
    resp_direct = np.bincount(node, minlength=size)
    resp_total = ut.subtree_sums(resp_direct).astype(np.int64)
    resp_hidden = _hide(ut, resp_direct, resp_total, min_n)
    resp_reason = _reason_codes(resp_hidden, resp_total, min_n)

    # Counted rows in node order: each node's rows are one slice, summed with reduceat.
    rows = np.flatnonzero(counted)
    rows = rows[np.argsort(node[rows], kind="stable")]
    yc, sc, nodec = y[rows], scores[rows], node[rows]
    present, starts = np.unique(nodec, return_index=True)
    # Each counted row's ancestor at every depth (-1 above its own node; depth 0: the root).
    up = ut.parents
    depth = ut.depths
    ancestors: list[IntArray] = []
    current = nodec.copy()
    for level in range(int(depth[:size].max(initial=0)), -1, -1):
        at = np.where(depth[current] == level, current, -1)
        ancestors.append(at)
        current = np.where(depth[current] == level, up[current], current)
        current = np.where(current < 0, size, current)

    def direct_sums(matrix: npt.NDArray[Any]) -> FloatArray:
        out = np.zeros((size, *matrix.shape[1:]))
        if starts.size:
            out[present] = np.add.reduceat(matrix, starts, axis=0)
        return out

    kinds_of = [
        (kinds or {}).get(name) or f"level{int(ut.depths[i])}" for i, name in enumerate(ut.names)
    ]
    kinds_of.append("overall")

    item_tables: list[_ItemTable] = []
    scale_tables: list[_ScaleTable] = []
    for s, scale in enumerate(instrument.scales):
        cols = scale_cols[s]
        k = len(cols)
        rs = scale.response_scale
        ys = yc[:, cols]
        a = ~np.isnan(ys)
        with np.errstate(invalid="ignore"):
            pos = (ys >= rs.positive_from) & a
            neg = (ys <= rs.negative_to) & a
        item_direct = direct_sums(np.hstack([a, pos, neg]).astype(np.float32))
        item_total = ut.subtree_sums(item_direct)
        n_item = item_total[:, :k].astype(np.int64)
        pos_item = item_total[:, k : 2 * k]
        neg_item = item_total[:, 2 * k :]

        v = sc[:, s]
        has = np.isfinite(v)
        v0 = np.where(has, v, 0.0)
        sdirect = direct_sums(np.column_stack([has, v0, v0 * v0]).astype(np.float64))
        stotal = ut.subtree_sums(sdirect)
        n_scale = stotal[:, 0].astype(np.int64)
        scale_hidden = _hide(ut, sdirect[:, 0], n_scale, min_n) | resp_hidden
        scale_reason = _reason_codes(scale_hidden, n_scale, min_n)

        item_hidden = np.zeros((size + 1, k), dtype=bool)
        item_reason = np.zeros((size + 1, k), dtype=np.intp)
        for j in range(k):
            hid = _hide(ut, item_direct[:, j], n_item[:, j], min_n) | scale_hidden
            code = _reason_codes(hid, n_item[:, j], min_n)
            # Hidden with the scale: say why the scale is hidden.
            code = np.where(hid & (n_item[:, j] >= min_n) & scale_hidden, scale_reason, code)
            item_hidden[:, j] = hid
            item_reason[:, j] = code
        with np.errstate(invalid="ignore", divide="ignore"):
            item_pct = np.stack(
                [
                    pos_item / n_item * 100.0,
                    (n_item - pos_item - neg_item) / n_item * 100.0,
                    neg_item / n_item * 100.0,
                ],
                axis=2,
            )
        ci_lo, ci_hi = intervals.wilson(pos_item, n_item)
        for j, col in enumerate(cols):
            item = instrument.items[col]
            item_tables.append(
                _ItemTable(
                    key=item.key,
                    scale=scale.key,
                    reverse=item.reverse,
                    n=n_item[:, j],
                    reason=item_reason[:, j],
                    pct=item_pct[:, j, :],
                    ci=np.column_stack([ci_lo[:, j], ci_hi[:, j]]),
                )
            )

        # Headline from the items shown here.
        used = ~item_hidden & (n_item > 0)
        n_used = used.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.where(used[:, :, None], item_pct, 0.0).sum(axis=1) / n_used[:, None]
        no_items = ~scale_hidden & (n_used == 0)
        scale_reason = np.where(no_items, _ITEM_HIDDEN, scale_reason)
        scale_hidden = scale_hidden | no_items
        # Var(headline) per node: Σ_i d_i² over the node's respondents, one pass per depth
        # (every node is at one depth), d_i = (1/J) Σ_j a_ij (z_ij − p_j) / n_j over used j.
        with np.errstate(invalid="ignore", divide="ignore"):
            p_j = np.where(used, pos_item / np.maximum(n_item, 1), 0.0)
            w = np.where(used, 1.0 / np.maximum(n_item, 1), 0.0) / np.maximum(n_used, 1)[:, None]
        af, zf = a.astype(np.float64), pos.astype(np.float64)
        sum_d2 = np.zeros(size + 1)
        for g in ancestors:
            keep = g >= 0
            gk = g[keep] if not keep.all() else g
            ak = af[keep] if not keep.all() else af
            zk = zf[keep] if not keep.all() else zf
            d = (ak * w[gk] * (zk - p_j[gk])).sum(axis=1)
            sum_d2 += np.bincount(gk, weights=d * d, minlength=size + 1)
        var = sum_d2 * n_scale / np.maximum(n_scale - 1, 1)
        cap = np.where(used, n_item, 0).sum(axis=1)
        neff = intervals.effective_count(pct[:, 0], var, n_scale, cap)
        h_lo, h_hi = intervals.headline_interval(pct[:, 0], neff)

        # Mean score and agreement: not where a hidden item has answers.
        carries_hidden = (item_hidden & (n_item > 0)).any(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = stotal[:, 1] / n_scale
            sd = np.sqrt(np.maximum(stotal[:, 2] - n_scale * mean * mean, 0.0) / (n_scale - 1))
        m_lo, m_hi = intervals.mean_interval(mean, sd, n_scale)
        mean_reason = np.where(scale_hidden, scale_reason, 0)
        mean_reason = np.where((mean_reason == 0) & carries_hidden, _ITEM_HIDDEN, mean_reason)

        complete: BoolArray = np.asarray(a.all(axis=1))
        # Centred on the scale's midpoint, a constant: a unit's sums then depend on its own
        # answers only (exactly: halves and small integers), not on other units' answers.
        zc = np.where(complete[:, None], ys - (rs.points + 1) / 2.0, 0.0)
        agree_direct = direct_sums(np.column_stack([complete.astype(np.float64), zc, zc * zc]))
        agree = ut.subtree_sums(agree_direct)
        c = agree[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            item_var = (agree[:, 1 + k :] - agree[:, 1 : 1 + k] ** 2 / c[:, None]) / (
                c[:, None] - 1.0
            )
        ranvar = (rs.points**2 - 1) / 12.0
        rstar = 1.0 - np.maximum(item_var, 0.0).mean(axis=1) / ranvar
        agree_reason = mean_reason.copy()
        agree_reason = np.where(
            (agree_reason == 0) & (c < AGREEMENT_MIN_N), _AGREE_FEW, agree_reason
        )
        verdict = np.where(agree_reason == 0, np.where(rstar >= AGREEMENT_CUTOFF, 1, 2), 0)

        nodes = size + 1
        scale_tables.append(
            _ScaleTable(
                key=scale.key,
                items=scale.item_keys,
                higher_is_better=scale.higher_is_better,
                n=n_scale,
                reason=scale_reason,
                pct=pct,
                pct_ci=np.column_stack([h_lo, h_hi]),
                neff=neff,
                used=used,
                mean=mean,
                mean_ci=np.column_stack([m_lo, m_hi]),
                mean_reason=mean_reason,
                rstar=rstar,
                verdict=verdict,
                agree_reason=agree_reason,
                rank_j=np.full(nodes, np.nan),
                rank_j_n=np.zeros(nodes, dtype=np.intp),
                rank_j_reason=np.full(nodes, _NO_BENCH),
                rank_n=np.full(nodes, np.nan),
                rank_n_n=np.zeros(nodes, dtype=np.intp),
                rank_n_reason=np.full(nodes, _NO_BENCH),
                prev_pct=np.full(nodes, np.nan),
                delta=np.full(nodes, np.nan),
                delta_ci=np.full((nodes, 2), np.nan),
                p=np.full(nodes, np.nan),
                p_holm=np.full(nodes, np.nan),
                change=np.zeros(nodes, dtype=np.intp),
                change_reason=np.full(nodes, _NO_PREVIOUS),
            )
        )
    order = {key: i for i, key in enumerate(instrument.item_keys)}
    item_tables.sort(key=lambda t: order[t.key])

    # 3. comments, invitations
    comment_total: IntArray | None = None
    comment_reason = np.full(size + 1, _COMMENT_FEW)
    if comments is not None or comment_column is not None:
        direct_c = np.zeros(size, dtype=np.int64)
        if comment_column is not None:
            direct_c += np.bincount(node[has_comment], minlength=size)
        for name, count in (comments or {}).items():
            if name not in ut.index:
                raise ValueError(f"comments given for {name!r}, which is not in the unit tree")
            direct_c[ut.index[name]] += int(count)
        comment_total = ut.subtree_sums(direct_c).astype(np.int64)
        c_hidden = _hide(ut, direct_c, comment_total, comment_min_n) | resp_hidden
        comment_reason = np.where(
            c_hidden,
            np.where(comment_total < comment_min_n, _COMMENT_FEW, _COMPLEMENTARY),
            _SHOWN,
        )
    invited_total: IntArray | None = None
    if invited is not None:
        direct_i = np.zeros(size, dtype=np.int64)
        for name, count in invited.items():
            if name in ut.index:
                direct_i[ut.index[name]] += int(count)
        invited_total = ut.subtree_sums(direct_i).astype(np.int64)

    shown = resp_reason == 0
    shown &= np.any([t.reason == 0 for t in scale_tables], axis=0) if scale_tables else shown

    overviews = {}
    for s, t in enumerate(scale_tables):
        root_ok = t.reason[-1] == 0 and t.mean_reason[-1] == 0
        icc1, icc2 = _icc(sc[:, s], nodec, size) if root_ok else (None, None)
        overviews[t.key] = ScaleOverview(
            scale=t.key,
            item_keys=t.items,
            higher_is_better=t.higher_is_better,
            icc1=icc1,
            icc2=icc2,
            icc2_low=icc2 is None or icc2 < LOW_ICC2,
        )

    table = _Table(
        names=[*ut.names, ""],
        parent=ut.parents,
        depth=ut.depths,
        kind=kinds_of,
        responses=resp_total,
        responses_reason=resp_reason,
        invited=invited_total,
        comments=comment_total,
        comments_reason=comment_reason,
        shown=shown,
        scales=scale_tables,
        items=item_tables,
        reasons=reasons,
    )
    bench_n, bench_j = _benchmarks(table, overviews, peers, jurisdiction)
    _changes(table, previous)
    pub = Publication(
        instrument_key=instrument.key,
        instrument_version=instrument.version,
        min_n=min_n,
        comment_min_n=comment_min_n,
        jurisdiction=jurisdiction,
        overall=_unit(table, size),
        units=_Units(table),
        scales=overviews,
        benchmarks_national=bench_n,
        benchmarks_jurisdiction=bench_j,
        tally=tally,
        warnings=tuple(warnings),
    )
    object.__setattr__(pub, "_table", table)
    return pub


def _hide(ut: UnitTree, direct: npt.ArrayLike, total: npt.ArrayLike, threshold: int) -> BoolArray:
    """Hidden mask over nodes and the root (root: only below the threshold)."""
    mask = ut.hidden(np.asarray(direct, dtype=np.int64), threshold)
    root = np.asarray(total)[-1] < threshold
    return np.append(mask, root)


def _reason_codes(hidden: BoolArray, total: npt.ArrayLike, threshold: int) -> IntArray:
    out: IntArray = np.where(
        hidden, np.where(np.asarray(total) < threshold, _TOO_FEW, _COMPLEMENTARY), _SHOWN
    ).astype(np.intp)
    return out


def _icc(values: FloatArray, groups: IntArray, size: int) -> tuple[float | None, float | None]:
    """ICC(1), ICC(2) of respondent scores by the node they belong to (see scoring.icc)."""
    has = np.isfinite(values)
    v, g = values[has], groups[has]
    n = np.bincount(g, minlength=size).astype(np.float64)
    present = n > 0
    n_groups = int(present.sum())
    total = v.size
    if n_groups < 2 or total - n_groups < 1:
        return None, None
    centre = v.mean()
    z = v - centre
    s1 = np.bincount(g, weights=z, minlength=size)
    s2 = np.bincount(g, weights=z * z, minlength=size)
    gm = np.where(present, s1 / np.maximum(n, 1), 0.0)
    ssb = float((n * gm * gm).sum())
    ssw = float((s2 - n * gm * gm).sum())
    msb = ssb / (n_groups - 1)
    msw = ssw / (total - n_groups)
    k = total / n_groups
    d1 = msb + (k - 1.0) * msw
    icc1 = (msb - msw) / d1 if d1 > 0 else None
    icc2 = (msb - msw) / msb if msb > 1e-12 * max(ssw, 1.0) else None
    return intervals.finite(icc1), intervals.finite(icc2)


def _benchmarks(
    table: _Table,
    overviews: Mapping[str, ScaleOverview],
    peers: Peers | None,
    jurisdiction: str | None,
) -> tuple[dict[tuple[str, str], BenchmarkCell], dict[tuple[str, str], BenchmarkCell]]:
    """Jurisdiction and national benchmarks per (kind, scale), and every unit's ranks."""
    national: dict[tuple[str, str], BenchmarkCell] = {}
    local: dict[tuple[str, str], BenchmarkCell] = {}
    nodes = len(table.names) - 1
    kinds = np.array(table.kind[:nodes], dtype=object)
    own_shares = peers is not None and jurisdiction is not None and jurisdiction in peers.sharing
    peer_values: dict[tuple[str, str], list[tuple[str, float]]] = {}
    if peers is not None:
        for pu in peers.units:
            if pu.jurisdiction in peers.sharing and pu.jurisdiction != jurisdiction:
                peer_values.setdefault((pu.kind, pu.scale), []).append(
                    (pu.jurisdiction, pu.pct_positive)
                )
    for t in table.scales:
        low_icc = overviews[t.key].icc2_low
        for kind in sorted(set(kinds.tolist())):
            members = np.flatnonzero((kinds == kind) & (t.reason[:nodes] == 0))
            own = t.pct[members, 0]
            cell = _cell(t.key, kind, [(jurisdiction or "", float(v)) for v in own], {}, False)
            local[(kind, t.key)] = cell
            _rank(t.rank_j, t.rank_j_n, t.rank_j_reason, members, own, cell, low_icc)
            if peers is None:
                continue
            group = list(peer_values.get((kind, t.key), []))
            if own_shares:
                group += [(jurisdiction or "", float(v)) for v in own]
            figures = {
                j: f
                for (j, scale), f in peers.jurisdiction_figures.items()
                if scale == t.key and j != jurisdiction
            }
            ncell = _cell(t.key, kind, group, figures, True)
            national[(kind, t.key)] = ncell
            values = np.array([v for _, v in group])
            _rank(t.rank_n, t.rank_n_n, t.rank_n_reason, members, own, ncell, low_icc, values)
    return national, local


_CELL_REASON = {
    "benchmark_too_few_units": _FEW_UNITS,
    "benchmark_too_few_jurisdictions": _FEW_JUR,
    "benchmark_dominant_jurisdiction": _DOMINANT,
    "benchmark_reveals_jurisdiction": _REVEALS,
    "no_benchmark": _NO_BENCH,
}


def _rank(
    out: FloatArray,
    out_n: IntArray,
    reason: IntArray,
    members: IntArray,
    own: FloatArray,
    cell: BenchmarkCell,
    low_icc: bool,
    values: FloatArray | None = None,
) -> None:
    # A group whose percentiles would give jurisdictions' own figures away (one agency per
    # jurisdiction) still met the size rules: a rank among its >= 20 units reveals no figure.
    if cell.hidden is not None and cell.hidden.reason != "benchmark_reveals_jurisdiction":
        reason[members] = _CELL_REASON[cell.hidden.reason]
        return
    if low_icc:
        reason[members] = _ICC2_LOW
        return
    group = own if values is None else values
    out[members] = intervals.percentile_rank(group, own)
    out_n[members] = group.size
    reason[members] = _SHOWN


def _cell(
    scale: str,
    kind: str,
    group: Sequence[tuple[str, float]],
    figures: Mapping[str, float],
    national: bool,
) -> BenchmarkCell:
    """A benchmark over unit figures ``(jurisdiction, % positive)``, or why it is hidden.

    Nationally: ≥ 20 units from ≥ 5 jurisdictions, none holding more than half; and no
    percentile may sit on (or between) order statistics that are each the only unit of their
    jurisdiction (that unit *is* the jurisdiction's figure for the kind), nor equal, or equal
    the interpolation at its own weight between, any two of the jurisdictions' own figures
    (whole-wave figures and lone units' figures), whichever units it was computed from.
    Within a jurisdiction: ≥ 20 units.
    """
    n_units = len(group)
    if n_units < intervals.MIN_RANK_UNITS:
        return BenchmarkCell(
            scale, kind, Hidden("benchmark_too_few_units", intervals.MIN_RANK_UNITS)
        )
    values = np.array([v for _, v in group])
    by_j: dict[str, int] = {}
    for j, _ in group:
        by_j[j] = by_j.get(j, 0) + 1
    if national:
        if len(by_j) < MIN_BENCHMARK_JURISDICTIONS:
            return BenchmarkCell(
                scale,
                kind,
                Hidden("benchmark_too_few_jurisdictions", MIN_BENCHMARK_JURISDICTIONS),
            )
        if max(by_j.values()) * 2 > n_units:
            return BenchmarkCell(scale, kind, Hidden("benchmark_dominant_jurisdiction"))
    q = intervals.percentiles(values)
    if national:
        order = np.argsort(values, kind="stable")
        lone = np.array([by_j[group[i][0]] == 1 for i in order])
        # Jurisdictions' own figures: their whole-wave figures and every unit that is its
        # jurisdiction's only one of the kind. Unit figures are ratios of small counts and tie
        # often, so a percentile between two other units can still land on one of these
        # values, or between two of them, by value: that is checked as well as by position.
        own = np.array(
            [*figures.values(), *(v for j, v in group if by_j[j] == 1)], dtype=np.float64
        )
        for level, value in zip(intervals.BENCHMARK_LEVELS, q, strict=True):
            h = (n_units - 1) * level / 100.0
            used = {int(np.floor(h)), int(np.ceil(h))}
            if all(lone[i] for i in used):
                return BenchmarkCell(scale, kind, Hidden("benchmark_reveals_jurisdiction"))
            frac = h - np.floor(h)
            between = own[:, None] + frac * (own[None, :] - own[:, None])
            if np.any(np.abs(own - value) < 1e-9) or np.any(np.abs(between - value) < 1e-9):
                return BenchmarkCell(scale, kind, Hidden("benchmark_reveals_jurisdiction"))
    p10, p25, p50, p75, p90 = (float(v) for v in q)
    return BenchmarkCell(
        scale,
        kind,
        None,
        p10=p10,
        p25=p25,
        p50=p50,
        p75=p75,
        p90=p90,
        n_units=n_units,
        n_jurisdictions=len(by_j),
    )


def _changes(table: _Table, previous: Publication | None) -> None:
    """Change per node × scale from the earlier wave; Holm across each unit's scales."""
    nodes = len(table.names)
    prev: _Table | None = None if previous is None else getattr(previous, "_table", None)
    if prev is None:
        for t in table.scales:
            t.change_reason = np.where(t.reason == 0, _NO_PREVIOUS, t.reason)
        return
    where = {name: i for i, name in enumerate(prev.names)}
    idx = np.array([where.get(name, -1) for name in table.names], dtype=np.intp)
    prev_scales = {t.key: t for t in prev.scales}
    p_all = np.full((nodes, len(table.scales)), np.nan)
    for s, t in enumerate(table.scales):
        reason = np.where(idx < 0, _NO_PREVIOUS, _SHOWN)
        pt = prev_scales.get(t.key)
        if pt is None:
            t.change_reason = np.where(t.reason == 0, _NO_PREVIOUS, t.reason)
            continue
        if pt.items != t.items:
            t.change_reason = np.where(t.reason == 0, _NOT_SAME_ITEMS, t.reason)
            continue
        safe = np.where(idx < 0, 0, idx)
        reason = np.where((reason == 0) & (pt.reason[safe] != 0), _PREVIOUS_HIDDEN, reason)
        same = (pt.used[safe] == t.used).all(axis=1)
        reason = np.where((reason == 0) & ~same, _NOT_SAME_ITEMS, reason)
        reason = np.where(t.reason != 0, t.reason, reason)
        ok = reason == 0
        before, nb = pt.pct[safe, 0], pt.neff[safe]
        after, na = t.pct[:, 0], t.neff
        lo, hi = intervals.change_interval(before, nb, after, na)
        p = np.full(nodes, np.nan)
        if ok.any():
            dof = (pt.n[safe] + t.n - 2)[ok]
            p[ok] = intervals.change_p_value(before[ok], nb[ok], after[ok], na[ok], dof)
        t.prev_pct = np.where(ok, before, np.nan)
        t.delta = np.where(ok, after - before, np.nan)
        t.delta_ci = np.column_stack([np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)])
        t.p = p
        t.change_reason = reason
        p_all[:, s] = p
    adjusted = _holm_rows(p_all)
    for s, t in enumerate(table.scales):
        t.p_holm = adjusted[:, s]
        ok = t.change_reason == 0
        called = ok & (t.p_holm < 0.05) & (np.abs(t.delta) >= intervals.MIN_CHANGE_PP)
        t.change = np.where(ok, np.where(called, np.where(t.delta > 0, 1, 2), 3), 0)


def _holm_rows(p: FloatArray) -> FloatArray:
    """Holm adjustment within each row over its non-missing entries."""
    valid = np.isfinite(p)
    m = valid.sum(axis=1, keepdims=True)
    filled = np.where(valid, p, np.inf)
    order = np.argsort(filled, axis=1, kind="stable")
    sorted_p = np.take_along_axis(filled, order, axis=1)
    rank = np.arange(p.shape[1])[None, :]
    factor = np.maximum(m - rank, 1)
    with np.errstate(invalid="ignore"):
        step = np.minimum(1.0, factor * sorted_p)
    step = np.where(np.isfinite(sorted_p), step, np.nan)
    step = np.fmax.accumulate(np.nan_to_num(step, nan=-1.0), axis=1)
    out = np.full(p.shape, np.nan)
    np.put_along_axis(out, order, step, axis=1)
    out[~valid] = np.nan
    return out


# --------------------------------------------------------------------------- typed cells


def _f(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


def _interval(pair: FloatArray) -> Interval | None:
    lo, hi = _f(pair[0]), _f(pair[1])
    return None if lo is None or hi is None else Interval(lo, hi)


def _unit(table: _Table, i: int) -> UnitPublication:
    r = table.reasons
    resp_hidden = r[int(table.responses_reason[i])]
    scales = {t.key: _scale_cell(table, t, i) for t in table.scales}
    items = {t.key: _item_cell(table, t, i) for t in table.items}
    if table.comments is None:
        comments = Count(None)
    else:
        comment_hidden = r[int(table.comments_reason[i])]
        comments = Count(None if comment_hidden else int(table.comments[i]), comment_hidden)
    if table.invited is None:
        invited = Count(None)
    else:
        invited = Count(None if resp_hidden else int(table.invited[i]), resp_hidden)
    parent = int(table.parent[i]) if i < len(table.parent) else -1
    root = len(table.names) - 1
    shown = bool(table.shown[i])
    hidden = resp_hidden
    if hidden is None and not shown:
        hidden = next((c.hidden for c in scales.values() if c.hidden is not None), None)
    return UnitPublication(
        unit=table.names[i],
        parent=None if parent < 0 or parent == root else table.names[parent],
        kind=table.kind[i],
        depth=int(table.depth[i]),
        shown=shown,
        hidden=hidden,
        responses=Count(None if resp_hidden else int(table.responses[i]), resp_hidden),
        invited=invited,
        comments=comments,
        scales=scales,
        items=items,
    )


def _scale_cell(table: _Table, t: _ScaleTable, i: int) -> ScaleCell:
    r = table.reasons
    hidden = r[int(t.reason[i])]
    mean_hidden = r[int(t.mean_reason[i])]
    agree_hidden = r[int(t.agree_reason[i])]
    change_hidden = r[int(t.change_reason[i])]
    shown = hidden is None
    pct = t.pct[i]
    return ScaleCell(
        scale=t.key,
        hidden=hidden,
        n=int(t.n[i]) if shown else None,
        pct_positive=_f(pct[0]) if shown else None,
        pct_neutral=_f(pct[1]) if shown else None,
        pct_negative=_f(pct[2]) if shown else None,
        pct_ci=_interval(t.pct_ci[i]) if shown else None,
        n_effective=_f(t.neff[i]) if shown else None,
        items_used=tuple(k for k, u in zip(t.items, t.used[i], strict=True) if u) if shown else (),
        mean=_f(t.mean[i]) if mean_hidden is None else None,
        mean_ci=_interval(t.mean_ci[i]) if mean_hidden is None else None,
        mean_hidden=mean_hidden,
        agreement=Agreement(
            rwg_star=_f(t.rstar[i]) if agree_hidden is None else None,
            verdict=_VERDICTS[int(t.verdict[i])],
            hidden=agree_hidden,
        ),
        rank_jurisdiction=_rank_cell(r, t.rank_j, t.rank_j_n, t.rank_j_reason, i),
        rank_national=_rank_cell(r, t.rank_n, t.rank_n_n, t.rank_n_reason, i),
        change=Change(
            previous_pct_positive=_f(t.prev_pct[i]) if change_hidden is None else None,
            delta=_f(t.delta[i]) if change_hidden is None else None,
            ci=_interval(t.delta_ci[i]) if change_hidden is None else None,
            p_value=_f(t.p[i]) if change_hidden is None else None,
            p_holm=_f(t.p_holm[i]) if change_hidden is None else None,
            verdict=_CHANGES[int(t.change[i])],
            hidden=change_hidden,
        ),
    )


def _rank_cell(
    reasons: list[Hidden | None], value: FloatArray, n: IntArray, reason: IntArray, i: int
) -> Rank:
    hidden = reasons[int(reason[i])]
    if hidden is not None:
        return Rank(None, None, hidden)
    return Rank(_f(value[i]), int(n[i]), None)


def _item_cell(table: _Table, t: _ItemTable, i: int) -> ItemCell:
    hidden = table.reasons[int(t.reason[i])]
    shown = hidden is None
    return ItemCell(
        item=t.key,
        scale=t.scale,
        reverse=t.reverse,
        hidden=hidden,
        n=int(t.n[i]) if shown else None,
        pct_positive=_f(t.pct[i, 0]) if shown else None,
        pct_neutral=_f(t.pct[i, 1]) if shown else None,
        pct_negative=_f(t.pct[i, 2]) if shown else None,
        ci=_interval(t.ci[i]) if shown else None,
    )


class _Units(Mapping[str, UnitPublication]):
    """Node name → its publication, built when looked up (a national wave has thousands)."""

    def __init__(self, table: _Table) -> None:
        self._table = table
        self._index = {name: i for i, name in enumerate(table.names[:-1])}

    def __getitem__(self, name: str) -> UnitPublication:
        return _unit(self._table, self._index[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


# --------------------------------------------------------------------------- JSON


def _hidden_dict(h: Hidden | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {"reason": h.reason, "threshold": h.threshold}


def _unit_dict(u: UnitPublication) -> dict[str, Any]:
    def count(c: Count) -> dict[str, Any]:
        return {"value": c.value, "hidden": _hidden_dict(c.hidden)}

    def interval(iv: Interval | None) -> list[float] | None:
        return None if iv is None else [iv.low, iv.high]

    return {
        "parent": u.parent,
        "kind": u.kind,
        "depth": u.depth,
        "shown": u.shown,
        "hidden": _hidden_dict(u.hidden),
        "responses": count(u.responses),
        "invited": count(u.invited),
        "comments": count(u.comments),
        "scales": {
            k: {
                "hidden": _hidden_dict(c.hidden),
                "n": c.n,
                "pct_positive": c.pct_positive,
                "pct_neutral": c.pct_neutral,
                "pct_negative": c.pct_negative,
                "pct_ci": interval(c.pct_ci),
                "items_used": list(c.items_used),
                "mean": c.mean,
                "mean_ci": interval(c.mean_ci),
                "mean_hidden": _hidden_dict(c.mean_hidden),
                "agreement": {
                    "rwg_star": c.agreement.rwg_star,
                    "verdict": c.agreement.verdict,
                    "hidden": _hidden_dict(c.agreement.hidden),
                },
                "rank_jurisdiction": {
                    "percentile": c.rank_jurisdiction.percentile,
                    "n_units": c.rank_jurisdiction.n_units,
                    "hidden": _hidden_dict(c.rank_jurisdiction.hidden),
                },
                "rank_national": {
                    "percentile": c.rank_national.percentile,
                    "n_units": c.rank_national.n_units,
                    "hidden": _hidden_dict(c.rank_national.hidden),
                },
                "change": {
                    "previous_pct_positive": c.change.previous_pct_positive,
                    "delta": c.change.delta,
                    "ci": interval(c.change.ci),
                    "p_value": c.change.p_value,
                    "p_holm": c.change.p_holm,
                    "verdict": c.change.verdict,
                    "hidden": _hidden_dict(c.change.hidden),
                },
            }
            for k, c in u.scales.items()
        },
        "items": {
            k: {
                "scale": c.scale,
                "reverse": c.reverse,
                "hidden": _hidden_dict(c.hidden),
                "n": c.n,
                "pct_positive": c.pct_positive,
                "pct_neutral": c.pct_neutral,
                "pct_negative": c.pct_negative,
                "ci": interval(c.ci),
            }
            for k, c in u.items.items()
        },
    }


def _bench_dict(cells: Mapping[tuple[str, str], BenchmarkCell]) -> list[dict[str, Any]]:
    return [
        {
            "kind": c.kind,
            "scale": c.scale,
            "hidden": _hidden_dict(c.hidden),
            "p10": c.p10,
            "p25": c.p25,
            "p50": c.p50,
            "p75": c.p75,
            "p90": c.p90,
            "n_units": c.n_units,
            "n_jurisdictions": c.n_jurisdictions,
        }
        for c in cells.values()
    ]


def publication_dict(pub: Publication) -> dict[str, Any]:
    """See :meth:`Publication.to_dict`."""
    t = pub.tally
    return {
        "instrument": {"key": pub.instrument_key, "version": pub.instrument_version},
        "min_n": pub.min_n,
        "comment_min_n": pub.comment_min_n,
        "respondents": {
            "responses": t.responses,
            "counted": t.counted,
            "excluded_straightlining": t.straightlining,
            "blank": t.blank,
            "comment_only": t.comment_only,
            "too_few_answers": t.too_few_answers,
        },
        "scales": {
            k: {
                "items": list(o.item_keys),
                "higher_is_better": o.higher_is_better,
                "icc1": o.icc1,
                "icc2": o.icc2,
                "icc2_low": o.icc2_low,
            }
            for k, o in pub.scales.items()
        },
        "overall": _unit_dict(pub.overall),
        "units": {name: _unit_dict(u) for name, u in pub.units.items()},
        "benchmarks": {
            "jurisdiction": _bench_dict(pub.benchmarks_jurisdiction),
            "national": _bench_dict(pub.benchmarks_national),
        },
        "warnings": list(pub.warnings),
    }
