"""Disclosure control: the one place that decides which groups may be shown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral
from typing import Any

import numpy as np
import numpy.typing as npt

#: No report, page or export may ever show a group smaller than this, whatever is configured.
MIN_REPORT_N_FLOOR = 3

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


def check_min_n(min_n: int) -> int:
    """Return ``min_n`` if it is an allowed minimum group size, else raise ``ValueError``.

    Parameters
    ----------
    min_n : int
        The configured minimum number of respondents a shown group must have.

    Raises
    ------
    ValueError
        If ``min_n`` is not an integer or is below :data:`MIN_REPORT_N_FLOOR` (3).
    """
    if isinstance(min_n, bool) or not isinstance(min_n, Integral):
        raise ValueError(f"min_n must be an integer, got {min_n!r}")
    if min_n < MIN_REPORT_N_FLOOR:
        raise ValueError(f"min_n must be at least {MIN_REPORT_N_FLOOR}, got {min_n}")
    return int(min_n)


def is_too_small(n: int, min_n: int) -> bool:
    """Primary suppression rule for one group: ``n < min_n`` (``min_n`` checked as above).

    Used for figures that have no parent to be subtracted from, such as the overall
    figures of a whole wave.
    """
    return n < check_min_n(min_n)


def suppress(
    tree: Mapping[str, str | None],
    counts: Mapping[str, int],
    min_n: int,
) -> set[str]:
    """Decide which nodes of an organisation tree must be hidden.

    Every node's published figure covers its *total*: its own direct respondents plus those of
    all its descendants. A node is hidden when

    1. **primary**: its total is below ``min_n``; or
    2. **complementary**: it is needed to protect a hidden group from subtraction. For every
       shown node ``P`` (and for the implicit root above all parentless nodes, which stands
       for the published overall figure) the respondents it holds beyond the shown nodes
       directly under it, ``total(P) - sum(total(F) for F in frontier(P))``, must be 0 or at
       least ``min_n``. ``frontier(P)`` is the set of shown descendants of ``P`` reached
       without passing through another shown node: a hidden child does not shield its own
       shown children from being subtracted through ``P``. While the remainder is in
       ``(0, min_n)``, the smallest frontier node is hidden (by total, then by name),
       preferring nodes whose hiding adds respondents to the remainder.

    Suppression only ever grows and hiding a node changes only the remainder of its nearest
    shown ancestor; the check runs over the whole tree after every hidden node (deepest
    offending node first) until nothing changes.

    Parameters
    ----------
    tree : Mapping[str, str | None]
        Node → parent node (``None`` for a top-level node). Parents that are not keys and
        nodes that appear only in ``counts`` are top-level.
    counts : Mapping[str, int]
        Node → number of respondents attached *directly* to that node (missing: 0).
    min_n : int
        Minimum group size, at least :data:`MIN_REPORT_N_FLOOR`.

    Returns
    -------
    set[str]
        The nodes to hide. Nodes with a total of 0 are hidden (there is nothing to show).

    Raises
    ------
    ValueError
        If ``min_n`` is below the floor, a count is negative, or the tree has a cycle.

    Notes
    -----
    This is the classical cell-suppression rule for hierarchical tables (primary threshold
    plus complementary suppression, e.g. Statistics Canada / AHRQ SOPS database practice);
    R has no single equivalent function (``sdcTable::protectTable`` solves a related problem).
    """
    return UnitTree(tree, counts).suppress(counts, min_n)


class UnitTree:
    """An organisation tree prepared once for many :func:`suppress` decisions.

    Scoring a wave decides suppression once per scale and once per item over the same tree;
    the structure (node order, depths, parents) is built here once and each decision is a few
    vectorised passes over the levels of the tree.

    Parameters
    ----------
    tree : Mapping[str, str | None]
        Node → parent (``None``: top-level). Parents that are not keys become top-level nodes.
    nodes : Iterable[str]
        Further nodes (e.g. units in the data); those not in ``tree`` are top-level.
    """

    def __init__(self, tree: Mapping[str, str | None], nodes: Iterable[str] = ()) -> None:
        parent_of: dict[str, str | None] = dict(tree)
        for node in nodes:
            parent_of.setdefault(node, None)
        for above in list(parent_of.values()):
            if above is not None:
                parent_of.setdefault(above, None)
        self.names: list[str] = list(parent_of)
        index = {name: i for i, name in enumerate(self.names)}
        self.index: Mapping[str, int] = index
        size = len(self.names)
        root = size  # the implicit root: the published overall figure
        parent = np.array(
            [root if up is None else index[up] for up in parent_of.values()] + [-1],
            dtype=np.intp,
        )
        children: list[list[int]] = [[] for _ in range(size + 1)]
        for i in range(size):
            children[parent[i]].append(i)
        depth = np.full(size + 1, -1, dtype=np.intp)
        depth[root] = 0
        level = [root]
        levels: list[IntArray] = []
        while level:
            nxt = [c for p in level for c in children[p]]
            if nxt:
                depth[nxt] = len(levels) + 1
                levels.append(np.array(nxt, dtype=np.intp))
            level = nxt
        if (depth < 0).any():
            raise ValueError("the unit tree has a cycle")
        self._root = root
        self._parent = parent
        self._children = children
        self._depth = depth
        self._levels = levels[::-1]  # deepest first
        rank = np.argsort(np.argsort(np.array(self.names, dtype=object)))
        self._name_rank = np.append(rank, size)  # the root sorts last
        self._ancestry_matrix: Any = None

    def suppress(self, counts: Mapping[str, int], min_n: int) -> set[str]:
        """Nodes to hide given direct respondent counts (see :func:`suppress`)."""
        direct = np.zeros(len(self.names), dtype=np.int64)
        for name, n in counts.items():
            direct[self.index[name]] = n
        hidden = self.hidden(direct, min_n)
        return {self.names[i] for i in np.flatnonzero(hidden)}

    def hidden(self, direct: npt.ArrayLike, min_n: int) -> BoolArray:
        """Boolean mask over :attr:`names`: which nodes to hide, given direct counts per node."""
        check_min_n(min_n)
        own = np.asarray(direct, dtype=np.int64)
        if own.shape != (len(self.names),):
            raise ValueError(f"expected {len(self.names)} counts, got shape {own.shape}")
        if (own < 0).any():
            name = self.names[int(np.argmax(own < 0))]
            raise ValueError(f"count for {name!r} is negative: {own[own < 0][0]}")
        total = self.subtree_sums(own)
        hidden = total < min_n
        hidden[self._root] = False
        while True:
            remainder = total - self._covered(total, hidden)
            offending = np.flatnonzero(~hidden & (remainder > 0) & (remainder < min_n)).tolist()
            frontiers = [(b, self._frontier(b, hidden)) for b in offending]
            frontiers = [(b, f) for b, f in frontiers if f]
            if not frontiers:
                break
            # One node at a time, the deepest offender first (ties: by name), then look again.
            _, frontier = max(
                frontiers, key=lambda bf: (int(self._depth[bf[0]]), -int(self._name_rank[bf[0]]))
            )
            pick = min(
                frontier,
                key=lambda f: (remainder[f] == 0, total[f], self._name_rank[f]),
            )
            hidden[pick] = True
        out: BoolArray = hidden[: len(self.names)]
        return out

    @property
    def parents(self) -> IntArray:
        """Parent index per node; the implicit root is ``len(names)``, its own parent -1."""
        return self._parent

    @property
    def depths(self) -> IntArray:
        """Depth per node (top-level nodes 1; the implicit root, last, 0)."""
        return self._depth

    def subtree_sums(self, direct: npt.ArrayLike) -> FloatArray:
        """Sums over each node's subtree of per-node rows; one more row for the implicit root.

        ``direct`` has one row per node (any trailing shape); the result has ``len(names) + 1``
        rows, the last being the whole wave.
        """
        own = np.asarray(direct, dtype=np.float64)
        if own.shape[0] != len(self.names):
            raise ValueError(f"expected {len(self.names)} rows, got shape {own.shape}")
        if own.ndim == 1:
            total = np.append(own, 0.0)
            for level in self._levels:
                total += np.bincount(
                    self._parent[level], weights=total[level], minlength=total.size
                )
            return total
        flat = own.reshape(own.shape[0], -1)
        out: FloatArray = np.asarray(self._ancestry() @ flat).reshape(
            (len(self.names) + 1, *own.shape[1:])
        )
        return out

    def _ancestry(self) -> Any:
        """Sparse (nodes + root) × nodes matrix: 1 where the row is the column or above it."""
        if self._ancestry_matrix is None:
            from scipy.sparse import csr_matrix

            rows: list[int] = []
            cols: list[int] = []
            for node in range(len(self.names)):
                up = node
                while up >= 0:
                    rows.append(up)
                    cols.append(node)
                    up = int(self._parent[up])
            self._ancestry_matrix = csr_matrix(
                (np.ones(len(rows)), (rows, cols)), shape=(len(self.names) + 1, len(self.names))
            )
        return self._ancestry_matrix

    def _covered(self, total: FloatArray, hidden: BoolArray) -> FloatArray:
        """Per node: the respondents of the shown nodes first reached below it."""
        covered = np.zeros_like(total)
        for level in self._levels:
            cover = np.where(hidden[level], covered[level], total[level])
            covered += np.bincount(self._parent[level], weights=cover, minlength=total.size)
        return covered

    def _frontier(self, node: int, hidden: BoolArray) -> list[int]:
        """Shown nodes first reached below ``node``, looking through hidden nodes."""
        frontier: list[int] = []
        pending = list(self._children[node])
        while pending:
            c = pending.pop()
            if hidden[c]:
                pending.extend(self._children[c])
            else:
                frontier.append(c)
        return frontier


def __getattr__(name: str) -> object:
    # The publication lives in scoring.publication (it imports scoring.scores, which imports
    # this module); it is part of the disclosure API, so it is reachable from here too.
    if name in {"publish", "Publication"}:
        from scoring import publication

        return getattr(publication, name)
    raise AttributeError(f"module 'scoring.disclosure' has no attribute {name!r}")
