"""Command line: ``python -m scoring publish`` (or ``score``) on a wave exported as CSV.

``publish`` gives what may be shown at every level of the unit tree, with the reason for each
hidden figure: the same rules the app's reports use. ``score`` gives the statistics of one
level (researchers' view; suppression over the given tree only).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: Exit status for input the command refuses (bad CSV, bad instrument, bad option).
EXIT_BAD_INPUT = 2


class _InputError(Exception):
    """Input the command refuses; the message is printed as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 fine, 2 bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.min_n < 3:
        parser.error(f"--min-n must be at least 3 (got {args.min_n})")
    try:
        return _publish(args) if args.command == "publish" else _score(args)
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scoring", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("score", help="score one wave: responses CSV → JSON or CSV")
    p.add_argument("--instrument", required=True, type=Path, help="instrument YAML file")
    p.add_argument(
        "--responses",
        required=True,
        type=Path,
        help="CSV, one row per respondent: the unit column and one column per item key",
    )
    p.add_argument("--unit-column", default="unit", help="name of the unit column (default: unit)")
    p.add_argument(
        "--min-n", type=int, default=5, help="minimum respondents to show a unit (default 5, ≥ 3)"
    )
    p.add_argument(
        "--no-exclude-straightlining",
        dest="exclude_straightlining",
        action="store_false",
        help="keep respondents who gave one answer to every item",
    )
    p.add_argument(
        "--item-units",
        action="store_true",
        help="also give every item's percentages per unit (JSON: a units map under each item)",
    )
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.add_argument("--out", type=Path, help="write here instead of standard output")

    q = commands.add_parser(
        "publish",
        help="what may be shown for a wave at every level of the unit tree → JSON or CSV",
    )
    q.add_argument("--instrument", required=True, type=Path, help="instrument YAML file")
    q.add_argument(
        "--responses",
        required=True,
        type=Path,
        help="CSV, one row per response: the unit column and one column per item key "
        "(any case); the unit may be a path such as 'Region 1 / Office A / Team 7'",
    )
    q.add_argument("--unit-column", default="unit", help="name of the unit column (default: unit)")
    q.add_argument(
        "--tree",
        type=Path,
        help="CSV with columns unit,parent (empty parent: top level) giving the unit tree",
    )
    q.add_argument("--comment-column", help="column holding free-text comments (counted only)")
    q.add_argument(
        "--min-n", type=int, default=5, help="minimum respondents for any figure (default 5, ≥ 3)"
    )
    q.add_argument(
        "--comment-min-n", type=int, default=10, help="minimum comments for a list (default 10)"
    )
    q.add_argument(
        "--no-exclude-straightlining",
        dest="exclude_straightlining",
        action="store_false",
        help="keep respondents who gave one answer to every item",
    )
    q.add_argument("--format", choices=["json", "csv"], default="json")
    q.add_argument("--out", type=Path, help="write here instead of standard output")
    return parser


def _publish(args: argparse.Namespace) -> int:
    from scoring.publication import publish
    from scoring.scores import ResponseError

    if args.comment_min_n < 3:
        raise _InputError(f"--comment-min-n must be at least 3 (got {args.comment_min_n})")
    instrument = _instrument(args.instrument)
    frame = _read_responses(args.responses, args.unit_column)
    frame = _map_item_columns(frame, instrument, args.unit_column)
    units = frame[args.unit_column]
    if args.tree is not None:
        tree = _read_tree(args.tree)
    else:
        tree, labels = _tree_from_paths(units)
        frame[args.unit_column] = labels
    # The instrument's comment question: its column is used unless another is named, and its
    # own threshold applies when it is stricter.
    comment_column = args.comment_column
    comment_min_n = args.comment_min_n
    if instrument.comment is not None:
        if comment_column is None and instrument.comment.key in frame.columns:
            comment_column = instrument.comment.key
        comment_min_n = max(comment_min_n, instrument.comment.min_report_n)
    try:
        pub = publish(
            frame,
            instrument,
            tree,
            unit=args.unit_column,
            min_n=args.min_n,
            comment_min_n=comment_min_n,
            comment_column=comment_column,
            exclude_straightlining=args.exclude_straightlining,
        )
    except ResponseError as exc:
        raise _InputError(_where(args.responses, exc)) from None
    except ValueError as exc:
        raise _InputError(f"{args.responses}: {exc}") from None
    for warning in pub.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    data = pub.to_dict()
    if args.format == "json":
        text = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":")) + "\n"
    else:
        text = _publication_csv(data)
    _write(args.out, text)
    return 0


def _instrument(path: Path) -> Any:
    from surveys import InstrumentError, load_instrument

    try:
        return load_instrument(path)
    except InstrumentError as exc:
        raise _InputError("invalid instrument: " + "; ".join(exc.errors)) from None


def _where(path: Path, exc: Any) -> str:
    where = [str(path)]
    if exc.row is not None:
        where.append(f"line {exc.row + 2} (respondent {exc.row + 1})")
    if exc.column is not None:
        where.append(f"column {exc.column!r}")
    return ", ".join(where) + ": " + str(exc.problem)


def _write(out: Path | None, text: str) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


def _map_item_columns(frame: Any, instrument: Any, unit_column: str) -> Any:
    """Rename columns that match an item key in another case (``A1`` for ``a1``)."""
    by_fold: dict[str, list[str]] = {}
    for column in frame.columns:
        by_fold.setdefault(str(column).casefold(), []).append(str(column))
    renames: dict[str, str] = {}
    for key in instrument.item_keys:
        if key in frame.columns:
            continue
        matches = by_fold.get(key.casefold(), [])
        if len(matches) > 1:
            raise _InputError(
                f"columns {', '.join(repr(m) for m in matches)} all match item {key!r}"
            )
        if matches and matches[0] != unit_column:
            renames[matches[0]] = key
    return frame.rename(columns=renames) if renames else frame


#: Separator of unit paths, as in the roster: ``Region 1 / Office A / Team 7``.
PATH_SEPARATOR = "/"


def _tree_from_paths(units: Any) -> tuple[dict[str, str | None], list[str]]:
    """The tree a column of unit paths describes, and each row's normalised path."""
    tree: dict[str, str | None] = {}
    labels: list[str] = []
    for value in units.tolist():
        if not isinstance(value, str):
            labels.append(value)
            continue
        parts = [p.strip() for p in value.split(PATH_SEPARATOR)]
        if any(not p for p in parts):
            labels.append(value if not value.strip() else " / ".join(parts))
            if value.strip():
                raise _InputError(f"unit path {value!r} has an empty part")
            continue
        parent: str | None = None
        for depth in range(1, len(parts) + 1):
            name = " / ".join(parts[:depth])
            tree.setdefault(name, parent)
            parent = name
        labels.append(" / ".join(parts))
    return tree, labels


def _read_tree(path: Path) -> dict[str, str | None]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise _InputError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise _InputError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"unit", "parent"} <= set(reader.fieldnames):
        raise _InputError(f"{path}: the tree needs the columns unit,parent")
    tree: dict[str, str | None] = {}
    for line, row in enumerate(reader, start=2):
        unit = (row["unit"] or "").strip()
        if not unit:
            raise _InputError(f"{path}: line {line}: the unit is empty")
        if unit in tree:
            raise _InputError(f"{path}: line {line}: unit {unit!r} appears twice")
        tree[unit] = (row["parent"] or "").strip() or None
    from scoring.disclosure import UnitTree

    try:
        UnitTree(tree)
    except ValueError as exc:
        raise _InputError(f"{path}: {exc}") from None
    return tree


_PUBLICATION_COLUMNS = [
    "unit", "parent", "kind", "scale", "item", "hidden", "threshold", "n", "pct_positive",
    "pct_neutral", "pct_negative", "ci_low", "ci_high", "mean", "mean_ci_low", "mean_ci_high",
    "agreement", "rwg_star",
]  # fmt: skip


def _publication_csv(data: dict[str, Any]) -> str:
    """A long table: per unit (and the overall row) its counts, scales and items."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_PUBLICATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for name, unit in [("", data["overall"]), *data["units"].items()]:
        base = {"unit": name, "parent": unit["parent"], "kind": unit["kind"]}
        hidden = unit["responses"]["hidden"] or {}
        writer.writerow(
            _safe_row(
                {**base, "scale": "", "item": "responses", "n": unit["responses"]["value"],
                 "hidden": hidden.get("reason"), "threshold": hidden.get("threshold")}
            )
        )  # fmt: skip
        for key, c in unit["scales"].items():
            h = c["hidden"] or c["mean_hidden"] or {}
            ci, mci = c["pct_ci"] or [None, None], c["mean_ci"] or [None, None]
            writer.writerow(
                _safe_row(
                    {**base, "scale": key, "hidden": (c["hidden"] or {}).get("reason"),
                     "threshold": h.get("threshold"), "n": c["n"],
                     "pct_positive": c["pct_positive"], "pct_neutral": c["pct_neutral"],
                     "pct_negative": c["pct_negative"], "ci_low": ci[0], "ci_high": ci[1],
                     "mean": c["mean"], "mean_ci_low": mci[0], "mean_ci_high": mci[1],
                     "agreement": c["agreement"]["verdict"],
                     "rwg_star": c["agreement"]["rwg_star"]}
                )
            )  # fmt: skip
        for key, c in unit["items"].items():
            h = c["hidden"] or {}
            ci = c["ci"] or [None, None]
            writer.writerow(
                _safe_row(
                    {**base, "scale": c["scale"], "item": key, "hidden": h.get("reason"),
                     "threshold": h.get("threshold"), "n": c["n"],
                     "pct_positive": c["pct_positive"], "pct_neutral": c["pct_neutral"],
                     "pct_negative": c["pct_negative"], "ci_low": ci[0], "ci_high": ci[1]}
                )
            )  # fmt: skip
    return out.getvalue()


#: A text cell starting with one of these is read as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: Any) -> Any:
    """None → empty; text that a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _safe_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _safe_cell(v) for k, v in row.items()}


def _score(args: argparse.Namespace) -> int:
    from scoring.scores import ResponseError, score

    instrument = _instrument(args.instrument)
    frame = _map_item_columns(
        _read_responses(args.responses, args.unit_column), instrument, args.unit_column
    )
    try:
        result = score(
            frame,
            instrument,
            unit=args.unit_column,
            min_n=args.min_n,
            exclude_straightlining=args.exclude_straightlining,
        )
    except ResponseError as exc:
        where = [str(args.responses)]
        if exc.row is not None:
            where.append(f"line {exc.row + 2} (respondent {exc.row + 1})")
        if exc.column is not None:
            where.append(f"column {exc.column!r}")
        raise _InputError(", ".join(where) + ": " + exc.problem) from None
    data = result.to_dict(item_units=args.item_units)
    if args.format == "json":
        # Compact: indent= would switch json to its pure-Python encoder (5x slower nationally).
        text = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":")) + "\n"
    else:
        text = _to_csv(data)
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


def _read_responses(path: Path, unit_column: str) -> Any:
    import pandas as pd

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not raw.strip():
        raise _InputError(f"{path}: empty file")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _InputError(f"{path}: line {line}: not UTF-8 text") from None
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            encoding="utf-8-sig",
            dtype={unit_column: str},
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.EmptyDataError:
        raise _InputError(f"{path}: empty file") from None
    except pd.errors.ParserError as exc:
        raise _InputError(f"{path}: not a valid CSV ({str(exc).strip()})") from None
    if frame.empty:
        raise _InputError(f"{path}: no respondent rows after the header")
    return frame


_CSV_COLUMNS = [
    "level", "scale", "item", "unit", "n", "suppressed", "mean", "sd", "ci_low", "ci_high",
    "pct_positive", "pct_neutral", "pct_negative", "rwg_j", "percentile",
]  # fmt: skip


def _to_csv(data: dict[str, Any]) -> str:
    """A long table: one row per scale, scale × unit, item (and item × unit if asked)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _csv_rows(data):
        writer.writerow(_safe_row(row))
    return out.getvalue()


def _csv_rows(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key, s in data["scales"].items():
        yield {"level": "scale", "scale": key, "n": s["n"], "mean": s["mean"], "sd": s["sd"],
               **_pcts(s)}  # fmt: skip
        for unit, u in s["units"].items():
            ci = u["ci"] or [None, None]
            yield {"level": "scale_unit", "scale": key, "unit": unit, "n": u["n"],
                   "suppressed": u["suppressed"], "mean": u["mean"], "ci_low": ci[0],
                   "ci_high": ci[1], **_pcts(u), "rwg_j": u["rwg_j"],
                   "percentile": u["percentile"]}  # fmt: skip
    for key, i in data["items"].items():
        yield {"level": "item", "item": key, "n": i["n"], **_pcts(i)}
        for unit, u in i.get("units", {}).items():
            yield {"level": "item_unit", "item": key, "unit": unit, "n": u["n"],
                   "suppressed": u["suppressed"], **_pcts(u)}  # fmt: skip


def _pcts(d: dict[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in ("pct_positive", "pct_neutral", "pct_negative")}
