"""Disclosure control: primary and complementary suppression on unit trees."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.disclosure import MIN_REPORT_N_FLOOR, suppress

ROOT = "<overall>"


def _totals(parent: Mapping[str, str], direct: Mapping[str, int]) -> dict[str, int]:
    """Subtree totals computed naively: walk every node's ancestor chain."""
    total = dict.fromkeys([*parent, ROOT], 0)
    for node, n in direct.items():
        cur: str | None = node
        while cur is not None:
            total[cur] += n
            cur = parent.get(cur) if cur != ROOT else None
    return total


def _attack(
    parent: Mapping[str, str], direct: Mapping[str, int], hidden: set[str], min_n: int
) -> list[str]:
    """Every way a shown figure minus shown figures under it exposes fewer than min_n people.

    The attacker knows the tree and every shown total. Under each shown node (and the overall
    total) the best subtraction removes the shown nodes nearest to it, looking through hidden
    nodes; what remains must be 0 or at least min_n and must not be one hidden node alone.
    """
    total = _totals(parent, direct)
    kids: dict[str, list[str]] = {n: [] for n in total}
    for node, up in parent.items():
        kids[up].append(node)
    problems = []
    for node in total:
        if node in hidden:
            continue
        nearest: list[str] = []
        hidden_below: list[str] = []
        todo = list(kids[node])
        while todo:
            c = todo.pop()
            if c in hidden:
                hidden_below.append(c)
                todo.extend(kids[c])
            else:
                nearest.append(c)
        rest = total[node] - sum(total[c] for c in nearest)
        direct_rest = total[node] - sum(total[c] for c in kids[node] if c not in hidden)
        if 0 < rest < min_n or 0 < direct_rest < min_n:
            problems.append(f"{node}: {rest} / {direct_rest} left after subtraction")
        holders = [h for h in hidden_below if direct.get(h, 0) > 0]
        if direct.get(node, 0) == 0 and node != ROOT and len(holders) == 1 and rest > 0:
            problems.append(f"{node}: isolates {holders[0]}")
        if node == ROOT and len(holders) == 1 and rest > 0:
            problems.append(f"overall: isolates {holders[0]}")
    return problems


@st.composite
def trees(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, int]]:
    size = draw(st.integers(1, 14))
    parent: dict[str, str] = {}
    for i in range(size):
        name = f"u{i:02d}"
        parent[name] = draw(st.sampled_from([ROOT, *parent]))
    direct = {name: draw(st.one_of(st.just(0), st.integers(0, 12))) for name in parent}
    return parent, direct


@settings(max_examples=300, deadline=None)
@given(trees(), st.integers(MIN_REPORT_N_FLOOR, 7))
def test_no_hidden_group_is_recoverable_by_subtraction(
    case: tuple[dict[str, str], dict[str, int]], min_n: int
) -> None:
    parent, direct = case
    tree = {n: (None if up == ROOT else up) for n, up in parent.items()}
    hidden = suppress(tree, direct, min_n)
    total = _totals(parent, direct)
    assert all(n in hidden for n in parent if total[n] < min_n)
    if total[ROOT] >= min_n:
        assert _attack(parent, direct, hidden, min_n) == []


def test_primary_suppression_hides_small_units_only_when_rest_is_safe() -> None:
    counts = {"a": 2, "b": 10, "c": 12, "d": 9}
    assert suppress({}, counts, 5) == {"a", "d"}


def test_lone_small_unit_forces_the_smallest_sibling_to_be_hidden() -> None:
    # Overall 24 minus the shown 10 + 12 leaves 2 people in "a": hide the next smallest too.
    assert suppress({}, {"a": 2, "b": 10, "c": 12}, 5) == {"a", "b"}


def test_ties_are_broken_by_name() -> None:
    assert suppress({}, {"a": 1, "z": 8, "m": 8}, 5) == {"a", "m"}


def test_hidden_parent_does_not_shield_its_children_from_the_grandparent() -> None:
    # office o1 (4) is hidden; its team t1 is too; o2's 20 are shown; agency = 24 + 0.
    tree = {"agency": None, "o1": "agency", "o2": "agency", "t1": "o1", "t2": "o2", "t3": "o2"}
    counts = {"t1": 4, "t2": 10, "t3": 10}
    hidden = suppress(tree, counts, 5)
    assert {"o1", "t1"} <= hidden
    # agency minus o2 would expose the 4 in o1: o2 (the smallest shown under agency) goes.
    assert "o2" in hidden
    assert "agency" not in hidden


def test_parent_remainder_counts_grandchildren_shown_under_a_hidden_child() -> None:
    # A hidden child whose own children are shown adds nothing when hidden: look deeper.
    tree = {"p": None, "c": "p", "g1": "c", "g2": "c", "s": "p"}
    counts = {"g1": 6, "g2": 7, "s": 3, "p": 0}
    hidden = suppress(tree, counts, 5)
    total = {"p": 16, "c": 13, "g1": 6, "g2": 7, "s": 3}
    parent = {"c": "p", "g1": "c", "g2": "c", "s": "p", "p": ROOT}
    assert "s" in hidden
    assert _attack(parent, counts, hidden, 5) == []
    assert all(total[n] >= 5 for n in set(total) - hidden)


def test_parent_with_own_respondents_is_protected() -> None:
    tree = {"office": None, "team": "office"}
    # 2 people sit directly in the office; showing the team (10) would expose them.
    assert suppress(tree, {"office": 2, "team": 10}, 5) == {"team"}


def test_everything_hidden_when_the_whole_wave_is_too_small() -> None:
    assert suppress({}, {"a": 2, "b": 2}, 5) == {"a", "b"}


def test_empty_units_are_hidden_but_leave_no_remainder() -> None:
    assert suppress({"e": None}, {"a": 6, "b": 7}, 5) == {"e"}


@pytest.mark.parametrize("bad", [2, 0, -1])
def test_min_n_below_the_floor_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        suppress({}, {"a": 10}, bad)


def test_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="cycle"):
        suppress({"a": "b", "b": "a"}, {"a": 5}, 5)


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        suppress({}, {"a": -1}, 5)


def test_min_n_must_be_a_whole_number_but_numpy_integers_are_fine() -> None:
    with pytest.raises(ValueError, match="must be an integer"):
        suppress({}, {"a": 10}, 4.5)  # type: ignore[arg-type]
    assert suppress({}, {"a": 2, "b": 9, "c": 9}, np.int64(5)) == {"a", "b"}  # type: ignore[arg-type]
