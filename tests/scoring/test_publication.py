"""The publication: what an attacker can work out from everything published for a wave."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoring
from scoring import Peers, PeerUnit, publish
from surveys import parse_instrument

ITEMS = ["q1", "q2", "q3"]
TINY = parse_instrument(
    {
        "key": "tiny",
        "version": "1",
        "title": {"en": "Tiny"},
        "languages": ["en"],
        "response_scales": {
            "agree5": {
                "points": 5,
                "labels": {"en": ["SD", "D", "N", "A", "SA"]},
                "positive_from": 4,
                "negative_to": 2,
            }
        },
        "scales": [
            {
                "key": "safety",
                "title": {"en": "Safety"},
                "response_scale": "agree5",
                "higher_is_better": True,
                "items": [
                    {"key": "q1", "text": {"en": "One"}},
                    {"key": "q2", "text": {"en": "Two"}},
                    {"key": "q3", "text": {"en": "Three"}, "reverse": True},
                ],
            }
        ],
    },
    "tiny.yaml",
)


def _frame(rows: Sequence[tuple[str, Sequence[float | None]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"unit": u, **dict(zip(ITEMS, a, strict=True))} for u, a in rows],
        columns=["unit", *ITEMS],
    ).astype({k: "float64" for k in ITEMS})


# --------------------------------------------------------------------------- headline


def test_hidden_item_does_not_come_back_from_the_headline() -> None:
    # A team of 6: q3 was answered by one person only (the others: does not apply).
    team = [("t1", (4, 4, None))] * 5 + [("t1", (2, 5, 1))]
    others = [("t2", (5, 4, 2))] * 6
    pub = publish(_frame(team + others), TINY, {"t1": "office", "t2": "office", "office": None})
    cell = pub.units["t1"].scales["safety"]
    q3 = pub.units["t1"].items["q3"]
    assert q3.hidden is not None and q3.hidden.reason == "too_few" and q3.pct_positive is None
    assert cell.items_used == ("q1", "q2")
    shown = [pub.units["t1"].items[k].pct_positive for k in ("q1", "q2")]
    assert cell.pct_positive == pytest.approx(sum(shown) / 2)  # type: ignore[arg-type]
    # The mean score would carry the lone answer: it is withheld, with its reason.
    assert cell.mean is None and cell.mean_hidden is not None
    assert cell.mean_hidden.reason == "item_hidden"


def test_changing_a_lone_hidden_answer_changes_nothing_published() -> None:
    """Differential: two waves identical but for one answer hidden everywhere."""
    rng = np.random.default_rng(5)
    rows: list[tuple[str, Sequence[float | None]]] = []
    for unit, size in (("t1", 7), ("t2", 9), ("t3", 6), ("t4", 12)):
        for _ in range(size):
            rows.append((unit, (float(rng.integers(1, 6)), float(rng.integers(1, 6)), None)))
    rows[3] = (rows[3][0], (rows[3][1][0], rows[3][1][1], 1.0))  # the only answer to q3
    tree = {"t1": "o1", "t2": "o1", "t3": "o2", "t4": "o2", "o1": "a", "o2": "a", "a": None}
    first = publish(_frame(rows), TINY, tree)
    rows[3] = (rows[3][0], (rows[3][1][0], rows[3][1][1], 5.0))
    second = publish(_frame(rows), TINY, tree)
    assert json.dumps(first.to_dict(), sort_keys=True) == json.dumps(
        second.to_dict(), sort_keys=True
    )
    # ... and the data did differ where it is not published: score() shows the moved mean.
    a = scoring.score(_frame(rows), TINY).scales["safety"].mean
    rows[3] = (rows[3][0], (rows[3][1][0], rows[3][1][1], 1.0))
    b = scoring.score(_frame(rows), TINY).scales["safety"].mean
    assert a != b


def test_changing_a_hidden_teams_answers_moves_only_aggregates_of_five_or_more() -> None:
    """Differential: a team of 4 answers differently; the only published figures that move
    are those of units whose published group includes the team and holds at least 5 people."""
    rng = np.random.default_rng(9)
    tree = {"t1": "o1", "t2": "o1", "t3": "o1", "t4": "o2", "o1": "a", "o2": "a", "a": None}
    sizes = {"t1": 4, "t2": 8, "t3": 6, "t4": 9}
    rows = [
        (u, [float(rng.integers(1, 6)) for _ in ITEMS]) for u, n in sizes.items() for _ in range(n)
    ]
    first = publish(_frame(rows), TINY, tree).to_dict()
    changed = [(u, [6.0 - v for v in a]) if u == "t1" else (u, a) for u, a in rows]
    second = publish(_frame(changed), TINY, tree).to_dict()
    assert first["units"]["t1"]["hidden"]["reason"] == "too_few"
    for name in tree:
        a, b = first["units"][name], second["units"][name]
        if a != b:
            # Only units whose subtree holds the team, each published with n >= 5.
            assert name in {"o1", "a"}, name
            assert a["responses"]["value"] >= 5
    assert first["units"]["t4"] == second["units"]["t4"]
    assert first["units"]["t2"] == second["units"]["t2"]


# --------------------------------------------------------------------------- labels and tallies


def test_labels_say_why_a_unit_is_hidden() -> None:
    # t2 has 10 people, hidden only so that t3 (3 people) cannot be worked out from the office.
    rows = [("t1", (4, 4, 2))] * 6 + [("t2", (4, 4, 2))] * 10 + [("t3", (4, 4, 2))] * 3
    tree = {"office": None, "t2": "office", "t3": "office", "t1": None}
    pub = publish(_frame(rows), TINY, tree)
    t2, t3 = pub.units["t2"], pub.units["t3"]
    assert t3.hidden is not None and t3.hidden.reason == "too_few" and t3.hidden.threshold == 5
    assert t2.hidden is not None and t2.hidden.reason == "complementary"
    assert t2.responses.value is None and t2.responses.hidden == t2.hidden
    assert pub.units["office"].shown and pub.units["office"].responses.value == 13


def test_blank_and_comment_only_responses_are_counted_as_such() -> None:
    frame = _frame(
        [("t1", (4, 4, 2))] * 5
        + [("t1", (None, None, None))] * 2
        + [("t1", (None, None, None))]
        + [("t1", (4, None, None))]
    )
    frame["comment"] = [None] * 7 + ["only a comment", None]
    pub = publish(frame, TINY, {"t1": None}, comment_column="comment")
    assert pub.tally == scoring.Tally(
        responses=9, counted=5, straightlining=0, blank=2, comment_only=1, too_few_answers=1
    )
    assert pub.units["t1"].responses.value == 9


# --------------------------------------------------------------------------- exact audit


def _rref(rows: list[list[Fraction]]) -> list[list[Fraction]]:
    """Reduced row echelon form over the rationals (exact)."""
    m = [r[:] for r in rows]
    out: list[list[Fraction]] = []
    width = len(m[0]) if m else 0
    for col in range(width):
        pivot = next((r for r in m if r[col] != 0), None)
        if pivot is None:
            continue
        m.remove(pivot)
        pivot = [v / pivot[col] for v in pivot]
        m = [[a - r[col] * b for a, b in zip(r, pivot, strict=True)] for r in m]
        out = [[a - r[col] * b for a, b in zip(r, pivot, strict=True)] for r in out]
        out.append(pivot)
    return out


def _in_row_space(basis: list[list[Fraction]], v: list[Fraction]) -> bool:
    rest = v[:]
    for row in basis:
        col = next(i for i, x in enumerate(row) if x != 0)
        if rest[col] != 0:
            f = rest[col]
            rest = [a - f * b for a, b in zip(rest, row, strict=True)]
    return all(x == 0 for x in rest)


def _subtree(parent: Mapping[str, str | None], node: str) -> set[str]:
    out = {node}
    changed = True
    while changed:
        changed = False
        for child, up in parent.items():
            if up in out and child not in out:
                out.add(child)
                changed = True
    return out


def _audit(
    nodes: list[str],
    parent: Mapping[str, str | None],
    direct: Mapping[str, int],
    published: Mapping[str | None, int | None],
    threshold: int,
    what: str,
) -> None:
    """Every published figure is the sum over its subtree, and no 0/1 combination of the
    published figures' groups isolates 1..threshold-1 people."""
    rows: list[list[Fraction]] = []
    for node, value in published.items():
        if value is None:
            continue
        members = set(nodes) if node is None else _subtree(parent, node)
        assert value == sum(direct[m] for m in members), f"{what} of {node}: wrong sum"
        rows.append([Fraction(int(n in members)) for n in nodes])
    basis = _rref(rows) if rows else []
    for size in range(1, len(nodes) + 1):
        for subset in itertools.combinations(range(len(nodes)), size):
            people = sum(direct[nodes[i]] for i in subset)
            if 0 < people < threshold:
                v = [Fraction(int(i in subset)) for i in range(len(nodes))]
                assert not _in_row_space(basis, v), (
                    f"{what}: {[nodes[i] for i in subset]} ({people}) is a combination of "
                    "published figures"
                )


@st.composite
def _waves(draw: st.DrawFn) -> tuple[dict[str, str | None], dict[str, int], dict[str, int], int]:
    size = draw(st.integers(1, 7))
    nodes = [f"n{i}" for i in range(size)]
    parent: dict[str, str | None] = {}
    for i, name in enumerate(nodes):
        up = draw(st.integers(-1, i - 1))
        parent[name] = None if up < 0 else nodes[up]
    people = {n: draw(st.integers(0, 9)) for n in nodes}
    comments = {n: draw(st.integers(0, min(people[n], 9))) for n in nodes}
    return parent, people, comments, draw(st.integers(0, 2**31))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(_waves())
def test_no_combination_of_published_figures_isolates_a_small_group(
    wave: tuple[dict[str, str | None], dict[str, int], dict[str, int], int],
) -> None:
    parent, people, comments, seed = wave
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, Sequence[float | None]]] = []
    for node, n in people.items():
        for _ in range(n):
            answers = [None if rng.random() < 0.25 else float(rng.integers(1, 6)) for _ in ITEMS]
            rows.append((node, answers))
    if not rows:
        return
    frame = _frame(rows)
    pub = publish(frame, TINY, parent, comments=comments).to_dict()
    nodes = list(parent)
    units = pub["units"]

    def published(figure: Any) -> dict[str | None, int | None]:
        out: dict[str | None, int | None] = {n: figure(units[n]) for n in nodes}
        out[None] = figure(pub["overall"])
        return out

    # Ground truth from the raw rows, computed here (not by the code under test).
    x = frame[ITEMS].to_numpy()
    scored = (~np.isnan(x)).sum(axis=1) >= 2
    by_node = frame["unit"].to_numpy()
    direct_n = {n: int((scored & (by_node == n)).sum()) for n in nodes}
    _audit(nodes, parent, people, published(lambda u: u["responses"]["value"]), 5, "responses")
    _audit(nodes, parent, direct_n, published(lambda u: u["scales"]["safety"]["n"]), 5, "n")
    for j, key in enumerate(ITEMS):
        answered = {n: int((~np.isnan(x[:, j]) & scored & (by_node == n)).sum()) for n in nodes}
        _audit(nodes, parent, answered, published(lambda u, k=key: u["items"][k]["n"]), 5, key)
        y = x[:, j] if key != "q3" else 6 - x[:, j]
        positive = {n: int(((y >= 4) & scored & (by_node == n)).sum()) for n in nodes}

        def pos(u: Any, k: str = key) -> int | None:
            cell = u["items"][k]
            return None if cell["n"] is None else round(cell["pct_positive"] * cell["n"] / 100)

        # Positive counts: published exactly where the answer counts are; their groups are the
        # same, so the answer-count audit covers them. Check they add up.
        for node, value in published(pos).items():
            if value is not None:
                members = set(nodes) if node is None else _subtree(parent, node)
                assert value == sum(positive[m] for m in members)
    _audit(nodes, parent, comments, published(lambda u: u["comments"]["value"]), 10, "comments")


# --------------------------------------------------------------------------- benchmarks


def _benchmark_wave(
    n_jurisdictions: int, seed: int
) -> tuple[Peers, dict[tuple[str, str], float], scoring.Publication]:
    """Peers: each jurisdiction an agency figure and 1-12 team figures; one own wave."""
    rng = np.random.default_rng(seed)
    units: list[PeerUnit] = []
    figures: dict[tuple[str, str], float] = {}
    for j in range(1, n_jurisdictions):
        name = f"J{j}"
        # Continuous figures: any equality below is structural, not a coincidence of rounding.
        teams = [float(v) for v in rng.uniform(20, 90, int(rng.integers(1, 13)))]
        figure = teams[0] if len(teams) == 1 else float(rng.uniform(30, 80))
        figures[(name, "safety")] = figure
        units.append(PeerUnit(name, "agency", "safety", figure))
        units += [PeerUnit(name, "team", "safety", v) for v in teams]
    rows: list[tuple[str, Sequence[float | None]]] = []
    tree: dict[str, str | None] = {"agency": None}
    for t in range(6):
        tree[f"team{t}"] = "agency"
        level = 0.1 + 0.15 * t + rng.uniform(-0.05, 0.05)  # distinct teams: ICC(2) >= .60
        for _ in range(15):
            v = 4.0 if rng.random() < level else 2.0  # one view per person, q3 reverse-keyed
            rows.append((f"team{t}", [v, v, 6.0 - v]))
    kinds = {n: ("agency" if p is None else "team") for n, p in tree.items()}
    sharing = frozenset({f"J{j}" for j in range(1, n_jurisdictions)} | {"J0"})
    peers = Peers(units=units, sharing=sharing, jurisdiction_figures=figures)
    pub = publish(_frame(rows), TINY, tree, kinds=kinds, peers=peers, jurisdiction="J0")
    return peers, figures, pub


@pytest.mark.parametrize("n_jurisdictions", [5, 8, 20])
@pytest.mark.parametrize("seed", range(6))
def test_benchmarks_reveal_no_other_jurisdiction(n_jurisdictions: int, seed: int) -> None:
    peers, figures, pub = _benchmark_wave(n_jurisdictions, seed)
    agency = pub.benchmarks_national[("agency", "safety")]
    # One agency per jurisdiction: its percentiles would be the jurisdictions' own figures.
    assert agency.hidden is not None and agency.p50 is None
    rank = pub.units["agency"].scales["safety"].rank_national
    if n_jurisdictions < 20:
        assert agency.hidden.reason == "benchmark_too_few_units"
        assert rank.percentile is None and rank.hidden == agency.hidden
    else:
        # 20 agencies: no percentile (each is a jurisdiction's figure), but a rank among them.
        assert agency.hidden.reason == "benchmark_reveals_jurisdiction"
        assert pub.scales["safety"].icc2_low is False
        assert rank.hidden is None and rank.n_units == 20 and rank.percentile is not None
    team = pub.benchmarks_national[("team", "safety")]
    values = [u.pct_positive for u in peers.units if u.kind == "team"]
    values += [
        c.pct_positive
        for name, u in pub.units.items()
        if u.kind == "team" and (c := u.scales["safety"]).pct_positive is not None
    ]
    if team.hidden is not None:
        assert len(values) < 20 or team.hidden.reason != "benchmark_too_few_units"
        return
    assert team.n_units == len(values) >= 20 and (team.n_jurisdictions or 0) >= 5
    own = list(figures.values())
    n = len(values)
    for level in (10, 25, 50, 75, 90):
        value = getattr(team, f"p{level}")
        w = (n - 1) * level / 100 - int((n - 1) * level / 100)
        for a, b in itertools.product(own, repeat=2):
            assert abs(value - (a + w * (b - a))) > 1e-9, (level, value, a, b)
    # R quantile(type = 7) of the unit figures, written out here.
    ordered = sorted(values)
    h = (n - 1) * 0.5
    lo = int(h)
    expected = ordered[lo] + (h - lo) * (ordered[min(lo + 1, n - 1)] - ordered[lo])
    assert team.p50 == pytest.approx(expected)


def test_benchmark_needs_five_jurisdictions_none_above_half() -> None:
    teams = [PeerUnit("J1", "team", "safety", float(v)) for v in range(30)]
    teams += [PeerUnit(f"J{j}", "team", "safety", 50.0 + j) for j in range(2, 6)]
    peers = Peers(units=teams, sharing=frozenset({"J1", "J2", "J3", "J4", "J5"}))
    tree: dict[str, str | None] = {"team0": None}
    rows: list[tuple[str, Sequence[float | None]]] = [("team0", (4, 4, 2))] * 6
    pub = publish(_frame(rows), TINY, tree, kinds={"team0": "team"}, peers=peers)
    cell = pub.benchmarks_national[("team", "safety")]
    assert cell.hidden == scoring.Hidden("benchmark_dominant_jurisdiction")
    few = Peers(units=teams[:30], sharing=frozenset({"J1"}))
    pub = publish(_frame(rows), TINY, tree, kinds={"team0": "team"}, peers=few)
    assert pub.benchmarks_national[("team", "safety")].hidden == scoring.Hidden(
        "benchmark_too_few_jurisdictions", 5
    )


# --------------------------------------------------------------------------- ranks, trends


def test_percentile_rank_counts_ties_as_half() -> None:
    values = [10.0, 20.0, 30.0, 30.0, 59.0, 59.0, 59.0, 70.0, 80.0, 90.0]
    # Below 59: 4 values; tied: 3 → (4 + 1.5) / 10.
    assert scoring.percentile_rank(values, [59.0])[0] == pytest.approx(55.0)
    assert scoring.percentile_rank([59.0] * 25, [59.0])[0] == pytest.approx(50.0)
    median = float(np.median(np.arange(21.0)))
    assert scoring.percentile_rank(np.arange(21.0), [median])[0] == pytest.approx(50.0)


def test_no_rank_among_fewer_than_twenty_units() -> None:
    rng = np.random.default_rng(2)
    rows: list[tuple[str, Sequence[float | None]]] = []
    tree: dict[str, str | None] = {"a": None}
    for t in range(19):
        tree[f"t{t:02d}"] = "a"
        rows += [(f"t{t:02d}", [float(rng.integers(1, 6)) for _ in ITEMS]) for _ in range(6)]
    pub = publish(_frame(rows), TINY, tree)
    rank = pub.units["t00"].scales["safety"].rank_jurisdiction
    assert rank.percentile is None and rank.hidden == scoring.Hidden("benchmark_too_few_units", 20)


def test_no_trend_when_the_scale_changed_its_items() -> None:
    rows: list[tuple[str, Sequence[float | None]]] = [("t1", (4, 4, 2))] * 6
    tree: dict[str, str | None] = {"t1": None}
    changed = parse_instrument(
        {**_tiny_dict(), "scales": [{**_tiny_dict()["scales"][0], "items": _tiny_items()[:2]}]},
        "v2.yaml",
    )
    frame = _frame(rows)
    before = publish(frame[["unit", "q1", "q2"]], changed, tree)
    after = publish(frame, TINY, tree, previous=before)
    change = after.units["t1"].scales["safety"].change
    assert change.delta is None and change.hidden == scoring.Hidden("no_previous_same_items")
    same = publish(frame, TINY, tree, previous=publish(frame, TINY, tree))
    kept = same.units["t1"].scales["safety"].change
    assert kept.delta == 0 and kept.verdict == "no_clear_change"


def _tiny_items() -> list[dict[str, Any]]:
    return [
        {"key": "q1", "text": {"en": "One"}},
        {"key": "q2", "text": {"en": "Two"}},
        {"key": "q3", "text": {"en": "Three"}, "reverse": True},
    ]


def _tiny_dict() -> dict[str, Any]:
    return {
        "key": "tiny",
        "version": "2",
        "title": {"en": "Tiny"},
        "languages": ["en"],
        "response_scales": {
            "agree5": {
                "points": 5,
                "labels": {"en": ["SD", "D", "N", "A", "SA"]},
                "positive_from": 4,
                "negative_to": 2,
            }
        },
        "scales": [
            {
                "key": "safety",
                "title": {"en": "Safety"},
                "response_scale": "agree5",
                "higher_is_better": True,
                "items": _tiny_items(),
            }
        ],
    }


def test_a_real_change_is_called_with_its_interval() -> None:
    tree: dict[str, str | None] = {"t1": None}
    before = publish(_frame([("t1", (2, 2, 4))] * 40), TINY, tree)
    after = publish(_frame([("t1", (4, 5, 1))] * 40), TINY, tree, previous=before)
    change = after.units["t1"].scales["safety"].change
    assert change.delta == pytest.approx(100.0) and change.verdict == "up"
    assert change.ci is not None and 0 < change.ci.low < change.ci.high <= 100


def test_every_interval_stays_inside_its_range() -> None:
    rng = np.random.default_rng(11)
    tree: dict[str, str | None] = {"a": None}
    rows: list[tuple[str, Sequence[float | None]]] = []
    for t in range(30):
        tree[f"t{t}"] = "a"
        size = int(rng.integers(5, 13))
        level = rng.choice([0.0, 0.02, 0.5, 0.98, 1.0])
        for _ in range(size):
            rows.append(
                (f"t{t}", [float(5 if rng.random() < level else 1) for _ in range(2)] + [1.0])
            )
    pub = publish(_frame(rows), TINY, tree)
    checked = 0
    for u in [*pub.units.values(), pub.overall]:
        c = u.scales["safety"]
        for iv in (c.pct_ci, c.mean_ci, *(i.ci for i in u.items.values())):
            if iv is not None:
                assert 0.0 <= iv.low <= iv.high <= 100.0
                checked += 1
    assert checked > 100
