"""Disclosure control: the one place that decides which groups may be shown."""

from __future__ import annotations

from collections.abc import Mapping

#: No report, page or export may ever show a group smaller than this, whatever is configured.
MIN_REPORT_N_FLOOR = 3

#: Key of the implicit root above every node without a parent (the published overall total).
_ROOT = object()


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
    if isinstance(min_n, bool) or not isinstance(min_n, int):
        raise ValueError(f"min_n must be an integer, got {min_n!r}")
    if min_n < MIN_REPORT_N_FLOOR:
        raise ValueError(f"min_n must be at least {MIN_REPORT_N_FLOOR}, got {min_n}")
    return min_n


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

    Suppression only ever grows, and hiding a node changes only the remainder of its
    nearest shown ancestor, so visiting nodes children-first settles every constraint; the
    pass is repeated until nothing changes as a safeguard.

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
    check_min_n(min_n)
    parent: dict[object, object] = {}
    for name, up in tree.items():
        parent[name] = _ROOT if up is None else up
    for name in counts:
        parent.setdefault(name, _ROOT)
    for above in list(parent.values()):
        if above is not _ROOT:
            parent.setdefault(above, _ROOT)
    direct: dict[object, int] = dict.fromkeys(parent, 0)
    direct[_ROOT] = 0
    for name, n in counts.items():
        if int(n) < 0:
            raise ValueError(f"count for {name!r} is negative: {n}")
        direct[name] = int(n)

    children: dict[object, list[object]] = {node: [] for node in direct}
    for child, above in parent.items():
        children[above].append(child)
    order = _children_first(children, len(direct))
    total: dict[object, int] = {}
    for node in order:
        total[node] = direct[node] + sum(total[c] for c in children[node])

    hidden: set[object] = {node for node in parent if total[node] < min_n}
    changed = True
    while changed:
        changed = False
        for node in order:
            if node in hidden:
                continue
            while True:
                frontier, remainder = _frontier(node, children, hidden, total)
                if remainder == 0 or remainder >= min_n or not frontier:
                    break
                gains = {f: total[f] - _frontier(f, children, hidden, total)[1] for f in frontier}
                pick = min(frontier, key=lambda f: (gains[f] == 0, total[f], str(f)))
                hidden.add(pick)
                changed = True
    return {str(node) for node in hidden}


def _children_first(children: Mapping[object, list[object]], size: int) -> list[object]:
    """Post-order of the tree under the implicit root; ``ValueError`` if some node is on a cycle."""
    order: list[object] = []
    stack: list[tuple[object, bool]] = [(_ROOT, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children[node])
    if len(order) != size:
        raise ValueError("the unit tree has a cycle")
    return order


def _frontier(
    node: object,
    children: Mapping[object, list[object]],
    hidden: set[object],
    total: Mapping[object, int],
) -> tuple[list[object], int]:
    """Shown nodes first reached below ``node``, and what ``node`` holds beyond them."""
    frontier: list[object] = []
    pending: list[object] = list(children[node])
    while pending:
        c = pending.pop()
        if c in hidden:
            pending.extend(children[c])
        else:
            frontier.append(c)
    return frontier, total[node] - sum(total[f] for f in frontier)
