"""The publication of a wave: everything any output may show, decided once, with reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

    from surveys.model import Instrument

#: Why a figure is not shown. Renderers turn these keys into words; they decide nothing.
HiddenReason = Literal[
    # the group has fewer than ``threshold`` respondents / answers / comments
    "too_few",
    # hidden so that a smaller group cannot be worked out by subtraction
    "complementary",
    # the unit itself is hidden, so none of its cells are shown
    "unit_hidden",
    # a mean, interval or agreement index would include answers to an item hidden here
    "item_hidden",
    # agreement: fewer than ``threshold`` (8) complete answers
    "agreement_too_few",
    # change: no earlier wave, or the unit is not in it
    "no_previous",
    # change: the unit's figure was hidden in the earlier wave
    "previous_hidden",
    # change: the scale's items (or the items its headline uses) differ between the waves
    "no_previous_same_items",
    # benchmark / rank: fewer than ``threshold`` (20) comparable units
    "benchmark_too_few_units",
    # benchmark / rank: fewer than ``threshold`` (5) sharing jurisdictions
    "benchmark_too_few_jurisdictions",
    # benchmark / rank: one jurisdiction holds more than half of the units
    "benchmark_dominant_jurisdiction",
    # benchmark: a percentile would equal or interpolate jurisdictions' own figures
    "benchmark_reveals_jurisdiction",
    # benchmark / rank: no benchmark inputs were given
    "no_benchmark",
    # rank: ICC(2) < .60, differences between units are not reliable enough to rank
    "icc2_low",
]


@dataclass(frozen=True)
class Hidden:
    """Why a figure is hidden; ``threshold`` is the minimum that was not met (if any).

    The actual size of a hidden group is never carried: printing it would publish it.
    """

    reason: HiddenReason
    threshold: int | None = None


@dataclass(frozen=True)
class Interval:
    """A two-sided 95% interval, always inside the figure's range (0–100 or −100–100)."""

    low: float
    high: float


@dataclass(frozen=True)
class Count:
    """An additive figure (responses, invitations, comments): its value, or why it is hidden."""

    value: int | None
    hidden: Hidden | None = None

    @property
    def shown(self) -> bool:
        return self.hidden is None


@dataclass(frozen=True)
class ItemCell:
    """One unit on one item. ``pct_*`` are after reversing: for a reverse-keyed item
    ``pct_positive`` is the share who gave the safe answer (disagreed)."""

    item: str
    scale: str
    reverse: bool
    hidden: Hidden | None
    n: int | None
    pct_positive: float | None
    pct_neutral: float | None
    pct_negative: float | None
    ci: Interval | None  # Wilson 95% for pct_positive

    @property
    def shown(self) -> bool:
        return self.hidden is None


@dataclass(frozen=True)
class Agreement:
    """Within-unit agreement r*wg(j) and its verdict (``None`` with ``hidden`` when not given)."""

    rwg_star: float | None
    verdict: Literal["agrees", "differs"] | None
    hidden: Hidden | None


@dataclass(frozen=True)
class Rank:
    """Percentile rank (mid-rank for ties, 0–100, high = higher % positive) among ``n_units``."""

    percentile: float | None
    n_units: int | None
    hidden: Hidden | None


@dataclass(frozen=True)
class Change:
    """Change of the headline % positive from the earlier wave (after − before, points).

    ``verdict`` is ``"up"``/``"down"`` only if the 95% interval excludes 0 after a Holm
    adjustment over the unit's scales (``p_holm < .05``) and ``|delta| >= 5``; otherwise
    ``"no_clear_change"``. Direction is of % positive; the renderer applies higher_is_better.
    """

    previous_pct_positive: float | None
    delta: float | None
    ci: Interval | None
    p_value: float | None
    p_holm: float | None
    verdict: Literal["up", "down", "no_clear_change"] | None
    hidden: Hidden | None


@dataclass(frozen=True)
class ScaleCell:
    """One unit on one scale.

    The headline ``pct_*`` is the unweighted mean over ``items_used`` (the scale's items shown
    for this unit), with ``pct_ci`` from a Wilson interval on the effective count. ``mean`` is
    the mean 0–100 score with a logit-scale t interval; it is hidden (``mean_hidden``) where an
    item hidden here has answers.
    """

    scale: str
    hidden: Hidden | None
    n: int | None
    pct_positive: float | None
    pct_neutral: float | None
    pct_negative: float | None
    pct_ci: Interval | None
    n_effective: float | None
    items_used: tuple[str, ...]
    mean: float | None
    mean_ci: Interval | None
    mean_hidden: Hidden | None
    agreement: Agreement
    rank_jurisdiction: Rank
    rank_national: Rank
    change: Change

    @property
    def shown(self) -> bool:
        return self.hidden is None


@dataclass(frozen=True)
class UnitPublication:
    """What may be shown about one unit (its whole subtree). ``shown``: it has a report."""

    unit: str
    parent: str | None
    kind: str
    depth: int
    shown: bool
    hidden: Hidden | None
    responses: Count
    invited: Count
    comments: Count  # the unit's comment list may be shown iff this count is shown
    scales: Mapping[str, ScaleCell]
    items: Mapping[str, ItemCell]


@dataclass(frozen=True)
class BenchmarkCell:
    """Percentiles (R ``quantile(type = 7)``) of comparable units' scale % positive."""

    scale: str
    kind: str
    hidden: Hidden | None
    p10: float | None = None
    p25: float | None = None
    p50: float | None = None
    p75: float | None = None
    p90: float | None = None
    n_units: int | None = None
    n_jurisdictions: int | None = None

    @property
    def shown(self) -> bool:
        return self.hidden is None


@dataclass(frozen=True)
class ScaleOverview:
    """Wave-level facts about a scale: its items and whether units may be ranked on it."""

    scale: str
    item_keys: tuple[str, ...]
    higher_is_better: bool
    icc1: float | None
    icc2: float | None
    #: ICC(2) < .60 (or undefined): say differences between units are not reliably
    #: detectable instead of ranking them (heatmap order, strengths across units, ranks).
    icc2_low: bool


@dataclass(frozen=True)
class Tally:
    """Rows of the wave by what they hold (published for the whole wave only)."""

    responses: int
    counted: int
    straightlining: int
    blank: int
    comment_only: int
    too_few_answers: int


@dataclass(frozen=True)
class PeerUnit:
    """One shown unit's figure from a jurisdiction's own publication (benchmark input)."""

    jurisdiction: str
    kind: str
    scale: str
    pct_positive: float


@dataclass(frozen=True)
class Peers:
    """Benchmark inputs: shown unit figures of every jurisdiction that shares, and each
    jurisdiction's own overall figure per scale (``(jurisdiction, scale) → % positive``)."""

    units: Sequence[PeerUnit]
    sharing: frozenset[str]
    jurisdiction_figures: Mapping[tuple[str, str], float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Publication:
    """Everything that may be shown for one wave. ``units`` holds every node of the tree;
    ``overall`` is the implicit root above the top-level nodes (the whole wave)."""

    instrument_key: str
    instrument_version: str
    min_n: int
    comment_min_n: int
    jurisdiction: str | None
    overall: UnitPublication
    units: Mapping[str, UnitPublication]
    scales: Mapping[str, ScaleOverview]
    benchmarks_national: Mapping[tuple[str, str], BenchmarkCell]
    benchmarks_jurisdiction: Mapping[tuple[str, str], BenchmarkCell]
    tally: Tally
    warnings: tuple[str, ...]

    def peer_units(self) -> list[PeerUnit]:
        """This wave's shown unit figures, for other jurisdictions' benchmarks."""
        out = []
        for u in self.units.values():
            for key, cell in u.scales.items():
                if cell.shown and cell.pct_positive is not None:
                    out.append(PeerUnit(self.jurisdiction or "", u.kind, key, cell.pct_positive))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: only what may be shown, hidden cells with their reasons."""
        from scoring._publish import publication_dict

        return publication_dict(self)


def publish(
    responses: pd.DataFrame,
    instrument: Instrument,
    tree: Mapping[str, str | None],
    *,
    unit: str = "unit",
    min_n: int = 5,
    comment_min_n: int = 10,
    comments: Mapping[str, int] | None = None,
    comment_column: str | None = None,
    invited: Mapping[str, int] | None = None,
    kinds: Mapping[str, str] | None = None,
    previous: Publication | None = None,
    peers: Peers | None = None,
    jurisdiction: str | None = None,
    exclude_straightlining: bool = True,
) -> Publication:
    """Decide everything that may be shown for one wave, over the whole unit tree.

    Parameters
    ----------
    responses : pandas.DataFrame
        Every stored response (blank ones too): a ``unit`` column naming the tree node the
        respondent belongs to directly, and one column per item key (raw ``1..points`` or
        missing), as for :func:`scoring.score`.
    instrument : surveys.Instrument
        The wave's instrument.
    tree : Mapping[str, str | None]
        Node → parent (``None``: top-level), as frozen for the wave. Every node is published
        (shown or hidden); units in the data but not in the tree become top-level nodes.
    min_n : int
        Minimum group size for every figure (at least 3).
    comment_min_n : int
        Minimum number of comments for a comment list (default 10).
    comments, comment_column :
        Comments per node (direct counts), or the name of a text column in ``responses``
        whose non-blank cells are comments (then comment-only responses are tallied).
    invited : Mapping[str, int], optional
        Invitations per node (direct counts); published where the unit's responses are.
    kinds : Mapping[str, str], optional
        Node → kind (``team``, ``office`` ...): units are compared only with their own kind.
        Default: ``"level<depth>"``.
    previous : Publication, optional
        The earlier wave's publication (same node names) for changes.
    peers : Peers, optional
        Benchmark inputs from sharing jurisdictions; this wave's own units are added from
        this publication when ``jurisdiction`` is in ``peers.sharing``.
    jurisdiction : str, optional
        This wave's jurisdiction (benchmarks leave its peers' copy of itself out).

    Returns
    -------
    Publication
        Every unit × scale, unit × item, response / invited / comment count, benchmark and
        change, shown or hidden with its reason.

    Notes
    -----
    Rules (DESIGN.md "What is published"): see :mod:`scoring._publish` for the algorithm.
    """
    from scoring._publish import build

    return build(
        responses,
        instrument,
        tree,
        unit=unit,
        min_n=min_n,
        comment_min_n=comment_min_n,
        comments=comments,
        comment_column=comment_column,
        invited=invited,
        kinds=kinds,
        previous=previous,
        peers=peers,
        jurisdiction=jurisdiction,
        exclude_straightlining=exclude_straightlining,
    )


def national_benchmark(peers: Peers, kind: str, scale: str) -> BenchmarkCell:
    """The national benchmark of one (unit kind, scale) over ``peers`` alone, with its rules.

    The same decision :func:`publish` makes for a wave's national comparison, for a reader
    that is no jurisdiction (the national coordinator): every unit of a jurisdiction in
    ``peers.sharing`` counts; ≥ 20 units from ≥ 5 jurisdictions, none holding more than half,
    and no percentile equal to, or interpolated between, jurisdictions' own figures.
    Percentiles are R ``quantile(type = 7)`` of the units' % positive, each unit weighted
    equally.
    """
    from scoring._publish import _cell

    group = [
        (u.jurisdiction, u.pct_positive)
        for u in peers.units
        if u.jurisdiction in peers.sharing and u.kind == kind and u.scale == scale
    ]
    figures = {j: f for (j, s), f in peers.jurisdiction_figures.items() if s == scale}
    return _cell(scale, kind, group, figures, True)
