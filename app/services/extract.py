"""The de-identified research extract of a wave: shuffled rows, coarsened units, no comments.

What a stored response holds is a random id, its wave and unit, the item answers and a comment
(``app/models/responses.py``); background answers and the response language never reach a row
(they are jurisdiction-wide counters, :mod:`app.services.background`). The extract keeps less:

- **rows in a fresh random order** (a permutation drawn from the operating system's randomness
  at every build), numbered 1…n after shuffling; the response id is not written;
- **units coarsened as the reports are**: a row keeps its unit where the publication shows that
  unit and otherwise takes the unit whose report includes it (the nearest shown unit above).
  The publication's complementary suppression is what makes this safe: a shown unit minus the
  shown units below it is 0 or at least ``min_report_n``, so no label groups fewer rows than the
  threshold, and no group can be had by subtracting published figures that the reports hide
  (a team hidden to protect a smaller sibling stays hidden here too). A group still short
  (rows the publication does not count, such as blank ones) moves up; rows that would leave the
  whole jurisdiction's group short are left out;
- **background**: not on rows (they are not stored with rows); the wave's published background
  counts are given in ``background.csv`` with every question that has a cell below the threshold
  left blank, as the publication does;
- **comments: never.** A data-sharing agreement records a level, not a clause on free text, and a
  comment is the field most likely to name its writer; masked comments stay in the reports.

Only a closed wave is extracted: an extract of an open wave taken twice would give, by
difference, the few rows that arrived in between.

Formats: ``csv`` (extract, codebook, units, background and an R script that reads them), ``sav``
(SPSS) and ``dta`` (Stata) with variable and value labels (pyreadstat), each with the codebook;
bundled as one ZIP.
"""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Literal, TypeVar

import numpy as np
import pandas as pd
import pyreadstat
from sqlalchemy import select
from sqlalchemy.orm import Session

import surveys
from app.i18n import lazy_message as _l
from app.models import Jurisdiction, Role, SharingLevel, User, Wave, WaveStatus
from app.services import access, audit, sharing
from app.services.background import LANGUAGE_QUESTION, background_tables
from app.services.exports import neutralise
from app.services.reports.publication import wave_results
from app.services.reports.results import UnitNode, load_wave

Format = Literal["csv", "sav", "dta"]
FORMATS: tuple[Format, ...] = ("csv", "sav", "dta")
#: Stata's limit on a variable label (the codebook keeps the full wording).
_DTA_LABEL = 80


class ExtractError(Exception):
    """An extract that cannot be made for this wave (one line saying why)."""


class ExtractNotAllowed(ExtractError):
    """The wave's data-sharing agreement does not allow a research extract."""


@dataclass(frozen=True)
class UnitGroup:
    """A unit label of the extract: the unit the rows were coarsened to and how many rows."""

    code: int
    path: str
    name: str
    kind: str
    respondents: int


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    kind: Literal["id", "unit", "item"]
    scale: str = ""
    reverse: bool = False
    values: Mapping[int, str] | None = None


@dataclass(frozen=True)
class BackgroundCell:
    question: str
    text: str
    option: int
    label: str
    count: int | None
    note: str


@dataclass(frozen=True, eq=False)
class Extract:
    """A wave's extract, ready to write: the shuffled frame and what describes it."""

    wave_id: int
    year: int
    jurisdiction_name: str
    jurisdiction_slug: str
    instrument_key: str
    instrument_version: str
    min_n: int
    frame: pd.DataFrame
    #: Responses left out because every group they could join would stay below the threshold.
    left_out: int
    groups: tuple[UnitGroup, ...]
    variables: tuple[Variable, ...]
    background: tuple[BackgroundCell, ...]


# --- coarsening ---------------------------------------------------------------------------------


#: The label of rows coarsened past every top unit: the whole jurisdiction.
WHOLE_JURISDICTION = 0


def coarsen_units(
    units: Mapping[int, UnitNode],
    counts: Mapping[int, int],
    min_n: int,
    shown: Collection[int],
) -> dict[int, int]:
    """Map every unit with respondents to the unit its rows are labelled with.

    A row keeps its unit if the publication shows that unit, else takes the nearest shown unit
    above it (the unit whose report includes it), else the whole jurisdiction
    (:data:`WHOLE_JURISDICTION`). The publication's complementary suppression makes each shown
    unit's own group (its subtree minus its shown units below) 0 or at least ``min_n``; should a
    group still be short, its rows move up to the next shown unit, and rows that would leave the
    whole jurisdiction's group short are left out (absent from the result).
    Raises ``ExtractError`` if the whole wave has fewer than ``min_n`` respondents.
    """
    total = sum(counts.values())
    if total < min_n:
        raise ExtractError(
            _l(
                "this wave has %(total)s responses: an extract needs at least %(n)s, the "
                "reporting threshold",
                total=total,
                n=min_n,
            )
        )

    def shown_above(unit_id: int, *, strict: bool) -> int:
        up: int | None = units[unit_id].parent_id if strict else unit_id
        while up is not None and up in units:
            if up in shown:
                return up
            up = units[up].parent_id
        return WHOLE_JURISDICTION

    label = {u: shown_above(u, strict=False) for u, n in counts.items() if n}
    while True:
        size: dict[int, int] = {}
        for unit_id, target in label.items():
            size[target] = size.get(target, 0) + counts[unit_id]
        short = [g for g, n in size.items() if n < min_n and g != WHOLE_JURISDICTION]
        if not short:
            break
        deepest = max(short, key=lambda g: (units[g].depth, units[g].path))
        above = shown_above(deepest, strict=True)
        for unit_id, target in label.items():
            if target == deepest:
                label[unit_id] = above
    if 0 < size.get(WHOLE_JURISDICTION, 0) < min_n:
        label = {u: g for u, g in label.items() if g != WHOLE_JURISDICTION}
    return label


# --- building -----------------------------------------------------------------------------------


_T = TypeVar("_T")


def _english(text: Mapping[str, _T], empty: _T) -> _T:
    """The English wording (the codebook's language), else the first one."""
    if "en" in text:
        return text["en"]
    return next(iter(text.values()), empty)


def _text(text: Mapping[str, str]) -> str:
    return _english(text, "")


def build_extract(
    session: Session, wave_id: int, *, rng: np.random.Generator | None = None
) -> Extract:
    """The extract of a closed wave (no permission check: see :func:`export_extract`).

    ``rng`` is for tests only; by default the order comes from ``secrets`` at every call.
    Raises ``ExtractError`` (open wave, too few responses) and ``UnknownWave``/``NoResponses``.
    """
    wave = session.get(Wave, wave_id)
    if wave is not None and wave.status != WaveStatus.CLOSED:
        raise ExtractError(
            _l(
                "the wave is still open: an extract is made once it has closed, so that two "
                "extracts cannot be compared to find the answers that arrived in between"
            )
        )
    data = load_wave(session, wave_id)
    instrument = data.instrument
    frame = data.frame
    unit_ids = [int(u) for u in frame["unit"]]
    counts: dict[int, int] = {}
    for unit_id in unit_ids:
        counts[unit_id] = counts.get(unit_id, 0) + 1
    results = wave_results(session, wave_id)
    shown = {u for u in data.units if results.shown(u)}
    label = coarsen_units(data.units, counts, data.min_n, shown)
    kept = [i for i, unit_id in enumerate(unit_ids) if unit_id in label]
    whole = UnitNode(
        WHOLE_JURISDICTION,
        f"{data.jurisdiction_name} (whole jurisdiction)",
        "",
        "jurisdiction",
        None,
        -1,
    )
    node = {**data.units, WHOLE_JURISDICTION: whole}
    chosen = sorted(set(label.values()), key=lambda u: (node[u].path, node[u].depth))
    code = {unit_id: i for i, unit_id in enumerate(chosen, start=1)}
    rows_per = dict.fromkeys(chosen, 0)
    for i in kept:
        rows_per[label[unit_ids[i]]] += 1
    groups = tuple(
        UnitGroup(code[u], node[u].path, node[u].name, node[u].kind, rows_per[u]) for u in chosen
    )
    rng = rng or np.random.default_rng(secrets.randbits(128))
    order = [kept[i] for i in rng.permutation(len(kept))]
    items = list(instrument.item_keys)
    shuffled = frame[items].iloc[order].reset_index(drop=True)
    shuffled.insert(0, "unit_group", [code[label[unit_ids[i]]] for i in order])
    shuffled.insert(0, "row", np.arange(1, len(order) + 1))
    return Extract(
        wave_id=data.wave_id,
        year=data.year,
        jurisdiction_name=data.jurisdiction_name,
        jurisdiction_slug=data.jurisdiction_slug,
        instrument_key=instrument.key,
        instrument_version=instrument.version,
        min_n=data.min_n,
        frame=shuffled,
        left_out=len(frame) - len(kept),
        groups=groups,
        variables=_variables(instrument, groups),
        background=_background(session, wave_id, instrument),
    )


def _variables(instrument: surveys.Instrument, groups: Sequence[UnitGroup]) -> tuple[Variable, ...]:
    out = [
        Variable("row", "Row number after shuffling (carries no information)", "id"),
        Variable(
            "unit_group",
            "Unit, coarsened so that every group has at least the reporting threshold",
            "unit",
            values={g.code: g.path or g.name for g in groups},
        ),
    ]
    for scale in instrument.scales:
        labels = _english(scale.response_scale.labels, ())
        values = {i: str(text) for i, text in enumerate(labels, start=1)}
        for item in scale.items:
            out.append(
                Variable(item.key, _text(item.text), "item", scale.key, item.reverse, values)
            )
    return tuple(out)


def _background(
    session: Session, wave_id: int, instrument: surveys.Instrument
) -> tuple[BackgroundCell, ...]:
    questions = {q.key: q for q in instrument.background}
    out = []
    for table in background_tables(session, wave_id):
        if table.question == LANGUAGE_QUESTION:
            text, options = "Language of the answers", list(instrument.languages)
        else:
            question = questions[table.question]
            text, options = _text(question.text), list(_english(question.options, ()))
        labels = ["Not answered", *options]
        for option, option_label in enumerate(labels):
            count = None if table.counts is None else table.counts[option]
            out.append(
                BackgroundCell(
                    table.question, text, option, option_label, count, table.reason or ""
                )
            )
    return tuple(out)


# --- writing ------------------------------------------------------------------------------------


def _cell(value: object) -> object:
    if value is None:
        return ""
    return neutralise(value) if isinstance(value, str) else value


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            ["" if v is None else neutralise(v) if isinstance(v, str) else v for v in row]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _data_csv(extract: Extract) -> bytes:
    frame = extract.frame
    rows = [
        [None if pd.isna(v) else int(v) for v in record]
        for record in frame.itertuples(index=False, name=None)
    ]
    return _csv(list(frame.columns), rows)


def codebook_csv(extract: Extract) -> bytes:
    rows = [
        (
            v.name,
            v.label,
            v.kind,
            v.scale,
            "true" if v.reverse else "false",
            "" if not v.values else "; ".join(f"{k}={t}" for k, t in v.values.items()),
        )
        for v in extract.variables
    ]
    return _csv(("variable", "label", "kind", "scale", "reverse", "values"), rows)


def _units_csv(extract: Extract) -> bytes:
    return _csv(
        ("code", "unit", "name", "kind", "respondents"),
        [(g.code, g.path or g.name, g.name, g.kind, g.respondents) for g in extract.groups],
    )


def _background_csv(extract: Extract) -> bytes:
    return _csv(
        ("question", "text", "option", "label", "count", "note"),
        [(b.question, b.text, b.option, b.label, b.count, b.note) for b in extract.background],
    )


R_SCRIPT = """\
# Reads the research extract written next to this script.
# Usage: Rscript read_extract.R [folder]   or, in R: source("read_extract.R")
# Answers stay numbers (1 = first label of the codebook); unit_group becomes a factor; each item
# carries its wording as the attribute "label". Missing answers are NA.
args <- commandArgs(trailingOnly = TRUE)
folder <- if (length(args) > 0) args[1] else "."
read <- function(name) {
  read.csv(file.path(folder, name), fileEncoding = "UTF-8-BOM", stringsAsFactors = FALSE,
           check.names = FALSE)
}
extract <- read("extract.csv")
codebook <- read("codebook.csv")
units <- read("units.csv")
extract$unit_group <- factor(extract$unit_group, levels = units$code, labels = units$unit)
for (i in seq_len(nrow(codebook))) {
  name <- codebook$variable[i]
  if (codebook$kind[i] == "item") attr(extract[[name]], "label") <- codebook$label[i]
}
background <- read("background.csv")
cat("extract:", nrow(extract), "rows,", ncol(extract), "columns,",
    nlevels(extract$unit_group), "unit groups\\n")
"""


def _readme(extract: Extract, fmt: Format) -> bytes:
    text = f"""Research extract: {extract.jurisdiction_name}, {extract.year} survey
Instrument {extract.instrument_key} version {extract.instrument_version}; reporting threshold \
{extract.min_n}.

{len(extract.frame)} rows, one per stored response, in a random order drawn for this file
(the row number carries no information); {extract.left_out} response(s) left out because no group
they could join would reach {extract.min_n}. Comments are never included. Background answers are not
stored with responses; background.csv gives the wave's published counts, with every question that
has a cell below {extract.min_n} left blank.

unit_group: each respondent's unit where the reports show it, otherwise the unit whose report
includes it, so that every group has at least {extract.min_n} rows (units.csv).

Answers are the raw codes 1..k before reversing (codebook.csv says which items are reversed).
Text that would start with =, +, -, @ has a leading apostrophe in the CSV files, so that a
spreadsheet does not run it as a formula.
"""
    files = {
        "csv": "extract.csv, codebook.csv, units.csv, background.csv; read_extract.R reads them.",
        "sav": "extract.sav (SPSS, with variable and value labels) and codebook.csv.",
        "dta": "extract.dta (Stata 15 file format, variable and value labels), codebook.csv.",
    }[fmt]
    return (text + "\nFiles: " + files + "\n").encode("utf-8")


def _labelled(
    extract: Extract, limit: int | None
) -> tuple[dict[str, str | None], dict[str, dict[int | float, str]]]:
    labels: dict[str, str | None] = {
        v.name: v.label if limit is None else v.label[:limit].rstrip() for v in extract.variables
    }
    values: dict[str, dict[int | float, str]] = {
        v.name: {code: text for code, text in v.values.items()}
        for v in extract.variables
        if v.values
    }
    return labels, values


def _statistical_file(extract: Extract, fmt: Literal["sav", "dta"]) -> bytes:
    labels, values = _labelled(extract, _DTA_LABEL if fmt == "dta" else None)
    frame = extract.frame.astype("float64")
    frame["row"] = extract.frame["row"].astype("int64")
    frame["unit_group"] = extract.frame["unit_group"].astype("int64")
    with TemporaryDirectory() as folder:
        path = Path(folder) / f"extract.{fmt}"
        if fmt == "sav":
            pyreadstat.write_sav(
                frame, str(path), column_labels=labels, variable_value_labels=values
            )
        else:
            pyreadstat.write_dta(
                frame, str(path), column_labels=labels, variable_value_labels=values
            )
        return path.read_bytes()


def extract_files(extract: Extract, fmt: Format) -> dict[str, bytes]:
    """The files of one format: name → content."""
    files = {"README.txt": _readme(extract, fmt), "codebook.csv": codebook_csv(extract)}
    files["units.csv"] = _units_csv(extract)
    files["background.csv"] = _background_csv(extract)
    if fmt == "csv":
        files["extract.csv"] = _data_csv(extract)
        files["read_extract.R"] = R_SCRIPT.encode("utf-8")
    else:
        files[f"extract.{fmt}"] = _statistical_file(extract, fmt)
    return files


def bundle_name(extract: Extract, fmt: Format) -> str:
    return f"{extract.jurisdiction_slug}-{extract.year}-research-extract-{fmt}"


def to_zip(files: Mapping[str, bytes], folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            # A fixed date: the archive says nothing about when it was made.
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


# --- the audited command ------------------------------------------------------------------------


def check_format(fmt: str) -> Format:
    for known in FORMATS:
        if fmt == known:
            return known
    raise ExtractError(
        _l(
            "format: %(format)s is not one of %(choices)s",
            format=repr(fmt),
            choices=", ".join(FORMATS),
        )
    )


def export_extract(
    session: Session,
    actor: User | None,
    wave_id: int,
    fmt: str,
    *,
    rng: np.random.Generator | None = None,
) -> tuple[Extract, dict[str, bytes]]:
    """The research extract of a wave for its data steward (or the CLI: ``actor=None``).

    Gates, in order: a known format; the actor is a data steward of the wave's jurisdiction
    (otherwise ``access.PermissionDenied``: unknown and not yours look the same); the wave's
    data-sharing level is "research extract" (``ExtractNotAllowed``) — the CLI too, as the
    agreement, not the account, is what allows respondent rows to leave the system. Every
    refusal after the format check is audited and committed; the export itself is audited.
    """
    chosen = check_format(fmt)
    wave = session.get(Wave, wave_id)
    jurisdiction_id = None if wave is None else wave.jurisdiction_id

    def refuse(reason: str) -> None:
        audit.record(
            session,
            actor,
            "extract.denied",
            f"research extract wave {wave_id}",
            jurisdiction_id=jurisdiction_id,
            wave_id=wave_id,
            format=chosen,
            reason=reason,
        )
        session.commit()

    if wave is None or (
        actor is not None and not access.can_export_extract(actor, wave.jurisdiction_id)
    ):
        refuse("not a data steward of this wave's jurisdiction")
        raise access.PermissionDenied(_l("no such extract"))
    level = sharing.current_level(session, wave.id)
    if level != SharingLevel.RESEARCH_EXTRACT:
        refuse(f"sharing level is {level.value}")
        raise ExtractNotAllowed(
            _l(
                'the %(year)s wave\'s data-sharing level is "%(level)s": a research '
                'extract needs the level "research extract", set by an administrator under a '
                "signed agreement",
                year=wave.year,
                level=level.value,
            )
        )
    extract = build_extract(session, wave_id, rng=rng)
    files = extract_files(extract, chosen)
    jurisdiction = session.get(Jurisdiction, wave.jurisdiction_id)
    audit.record(
        session,
        actor if actor is not None else audit.CLI_ACTOR,
        "extract.export",
        f"research extract wave {wave.year}"
        + ("" if jurisdiction is None else f" of {jurisdiction.name}"),
        jurisdiction_id=wave.jurisdiction_id,
        wave_id=wave_id,
        format=chosen,
        rows=len(extract.frame),
        left_out=extract.left_out,
        unit_groups=len(extract.groups),
    )
    session.commit()
    return extract, files


# --- the steward's page -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractWave:
    """A wave on the steward's page: whether an extract can be made, and if not why."""

    wave_id: int
    year: int
    status: str
    min_n: int
    level: SharingLevel
    reference: str
    available: bool
    why_not: str | None


@dataclass(frozen=True)
class StewardRow:
    user_id: int
    email: str
    steward: bool
    is_self: bool


def list_extract_waves(session: Session, actor: User) -> list[ExtractWave]:
    """The waves of the actor's jurisdiction, newest first (its administrators only)."""
    jurisdiction_id = actor.jurisdiction_id
    access.require(
        jurisdiction_id is not None and access.can_manage_jurisdiction(actor, jurisdiction_id),
        _l("research extracts"),
    )
    out = []
    for wave in session.scalars(
        select(Wave).where(Wave.jurisdiction_id == jurisdiction_id).order_by(Wave.year.desc())
    ):
        agreement = sharing.current_agreement(session, wave.id)
        level = agreement.level if agreement is not None else SharingLevel.NONE
        why: str | None = None
        if level != SharingLevel.RESEARCH_EXTRACT:
            why = "level"
        elif wave.status != WaveStatus.CLOSED:
            why = "open"
        out.append(
            ExtractWave(
                wave.id,
                wave.year,
                str(wave.status),
                wave.min_report_n,
                level,
                agreement.reference if agreement is not None else "",
                why is None,
                why,
            )
        )
    return out


def list_stewards(session: Session, actor: User) -> list[StewardRow]:
    """The administrators of the actor's jurisdiction and whether each is a data steward."""
    jurisdiction_id = actor.jurisdiction_id
    access.require(
        jurisdiction_id is not None and access.can_manage_jurisdiction(actor, jurisdiction_id),
        _l("data stewards"),
    )
    admins = session.scalars(
        select(User)
        .where(
            User.jurisdiction_id == jurisdiction_id,
            User.role == Role.JURISDICTION_ADMIN,
            User.active.is_(True),
        )
        .order_by(User.email)
    )
    return [StewardRow(u.id, u.email, u.data_steward, u.id == actor.id) for u in admins]
