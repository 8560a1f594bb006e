"""Command line: ``python -m scoring score`` scores a wave exported as CSV."""

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
        return _score(args)
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
    return parser


def _score(args: argparse.Namespace) -> int:
    from scoring.scores import ResponseError, score
    from surveys import InstrumentError, load_instrument

    try:
        instrument = load_instrument(args.instrument)
    except InstrumentError as exc:
        raise _InputError("invalid instrument: " + "; ".join(exc.errors)) from None
    frame = _read_responses(args.responses, args.unit_column)
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
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
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
