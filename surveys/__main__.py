"""Command line: ``python -m surveys check FILE...`` validates instrument definitions."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from surveys.loader import InstrumentError, load_instrument


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 valid, 1 invalid; usage errors exit 2)."""
    parser = argparse.ArgumentParser(
        prog="python -m surveys", description="Work with survey instrument definitions."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate instrument definition files",
        description="Print 'OK KEY VERSION' for each valid file and every problem of the others.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="a YAML instrument definition")
    args = parser.parse_args(argv)
    files: list[str] = args.files
    return check_files(files)


def check_files(files: Sequence[str]) -> int:
    """Validate each file, printing its result; 1 if any file is invalid, else 0."""
    status = 0
    for file in files:
        try:
            instrument = load_instrument(file)
        except InstrumentError as exc:
            print("\n".join(exc.errors))
            status = 1
        else:
            print(f"OK {instrument.key} {instrument.version}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
