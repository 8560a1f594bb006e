"""Results in the browser: a leader's units as a searchable tree, and one unit's results page.

The page is the unit's report itself: the same :class:`ReportContext` the PDF is rendered from,
laid out by the same templates, so the page and the PDF cannot show different numbers or
different reasons for what is hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app import catalog
from app.i18n import lazy_message as _l
from app.models import OrgUnit, User, Wave
from app.reporting import ReportContext, render_html
from app.reporting.context import PageSize
from app.services import access, audit
from app.services.reports.context import build_context
from app.services.reports.listing import ReportEntry, WaveReports, list_reports_for
from app.services.reports.publication import wave_results
from app.services.reports.results import ancestors

#: Longest search text taken from the search box; anything longer is cut, never an error.
MAX_QUERY = 100
_BODY = re.compile(r"<body[^>]*>(?P<body>.*)</body>", re.S)


@dataclass(frozen=True)
class TreeNode:
    """One unit of the tree: its report entry, whether it matches the search, and below it."""

    entry: ReportEntry
    matches: bool
    children: tuple[TreeNode, ...] = ()


@dataclass
class _Open:
    entry: ReportEntry
    below: list[_Open] = field(default_factory=list)


@dataclass(frozen=True)
class WaveTree:
    """One wave's units in the user's scope as a tree, filtered by the search text."""

    wave: WaveReports
    roots: tuple[TreeNode, ...]
    matched: int
    total: int


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def clean_query(raw: str | None) -> str:
    """The search text as used: trimmed, blanks collapsed, at most :data:`MAX_QUERY` long."""
    return " ".join((raw or "").split())[:MAX_QUERY]


def _is_below(path: str, above: str) -> bool:
    return above == "" or path.startswith(above + " / ")


def _tree(entries: tuple[ReportEntry, ...], query: str) -> tuple[tuple[TreeNode, ...], int]:
    """Nest the entries and keep the matches with the units above and below them."""
    wanted = _normal(query)
    matches = {e.unit_id for e in entries if not wanted or wanted in _normal(e.path or e.name)}
    keep = {
        e.unit_id
        for e in entries
        if e.unit_id in matches
        or any(
            _is_below(m.path, e.path) or _is_below(e.path, m.path)
            for m in entries
            if m.unit_id in matches and m.unit_id != e.unit_id
        )
    }
    kept = sorted((e for e in entries if e.unit_id in keep), key=lambda e: e.path)
    # Sorted by path, every unit comes after the units above it: walk with a stack of open
    # ancestors, attaching each unit under the nearest one that contains it.
    top: list[_Open] = []
    stack: list[_Open] = []
    for entry in kept:
        while stack and not _is_below(entry.path, stack[-1].entry.path):
            stack.pop()
        node = _Open(entry)
        (stack[-1].below if stack else top).append(node)
        stack.append(node)

    def freeze(node: _Open) -> TreeNode:
        kids = tuple(freeze(k) for k in node.below)
        return TreeNode(node.entry, node.entry.unit_id in matches, kids)

    return tuple(freeze(n) for n in top), len(matches)


def unit_trees(session: Session, user: User, query: str = "") -> list[WaveTree]:
    """Every wave of the user's jurisdiction with the units in scope, as trees; newest first."""
    trees = []
    for wave in list_reports_for(session, user):
        roots, matched = _tree(wave.entries, query)
        trees.append(WaveTree(wave, roots, matched, len(wave.entries)))
    return trees


@dataclass(frozen=True)
class Crumb:
    """A unit above the page's unit: a link when the reader may open its results."""

    unit_id: int
    name: str
    linked: bool


@dataclass(frozen=True)
class ResultsPage:
    """One unit's results as a page: the report context and the report body as HTML."""

    wave_id: int
    unit_id: int
    year: int
    jurisdiction_name: str
    context: ReportContext
    body_html: str
    report_language: str
    crumbs: tuple[Crumb, ...]
    is_team: bool


def report_language(language: str) -> str:
    """The language the report can be written in: the one asked for, else English."""
    return language if language in catalog.catalog_languages() else catalog.SOURCE_LANGUAGE


def results_page(
    session: Session,
    user: User,
    wave_id: int,
    unit_id: int,
    *,
    language: str = "en",
    page_size: PageSize = "A4",
    min_jurisdictions: int = 5,
) -> ResultsPage:
    """The unit's results for a signed-in reader: scope check, the report's body, audit, commit.

    Raises ``access.PermissionDenied`` (out of scope and unknown look the same),
    ``UnitSuppressed``, ``NoResponses`` or ``UnknownWave`` as the PDF download does.
    """
    wave = session.get(Wave, wave_id)
    unit = session.get(OrgUnit, unit_id)
    if wave is None or unit is None or unit.jurisdiction_id != wave.jurisdiction_id:
        raise access.PermissionDenied(_l("no such report"))
    access.require_unit(user, unit)
    used = report_language(language)
    ctx = build_context(
        session,
        wave_id,
        unit_id,
        language=used,
        page_size=page_size,
        min_jurisdictions=min_jurisdictions,
    )
    found = _BODY.search(render_html(ctx))
    body = found.group("body") if found else ""
    results = wave_results(session, wave_id)
    scope = {u.id for u in access.units_in_scope(session, user)}
    crumbs = tuple(
        Crumb(a, results.units[a].name, a in scope and results.shown(a))
        for a in reversed(ancestors(results.units, unit_id)[1:])
    )
    audit.record(
        session,
        user,
        "report.view",
        f"wave {wave_id} / {unit.path or unit.name}",
        jurisdiction_id=wave.jurisdiction_id,
        wave_id=wave_id,
        unit_id=unit_id,
    )
    session.commit()
    return ResultsPage(
        wave_id=wave_id,
        unit_id=unit_id,
        year=wave.year,
        jurisdiction_name=results.jurisdiction_name,
        context=ctx,
        body_html=body,
        report_language=used,
        crumbs=crumbs,
        is_team=results.is_leaf(unit_id),
    )
