"""Generate the response CSVs behind the R scoring reference (fixed seed; run once, then R).

    python tests/data/r/score_make_input.py && Rscript tests/data/r/score_reference.R

``score_input_a.csv``: ~460 respondents in 26 units (sizes 1–40) on score_instrument.yaml, from a
one-factor-per-scale model with a unit effect; 8% missing answers (45% on the 7-point scale),
a unit whose answers never vary, straight-liners (16 and 15 answered items), a near
straight-liner with 14 answers (not flagged), respondents below the "more than half" rule and
all-missing rows. ``score_input_b.csv``: 38 respondents in 6 units, too few for reliability,
with one unit of 3 whose protection needs complementary suppression.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCALES = {  # key: (items, points, reverse flags)
    "a": (["a1", "a2", "a3", "a4", "a5"], 5, [False, True, False, True, False]),
    "b": (["b1", "b2", "b3", "b4"], 5, [False, False, True, False]),
    "c": (["c1", "c2", "c3"], 5, [False, False, False]),
    "d": (["d1", "d2", "d3", "d4"], 7, [False, True, False, False]),
}
ITEMS = [k for items, _, _ in SCALES.values() for k in items]


def _respondent(rng: np.random.Generator, unit_effect: float, missing: dict[str, float]) -> dict:
    row: dict[str, int | None] = {}
    for key, (items, points, reverse) in SCALES.items():
        latent = unit_effect + rng.normal()
        for item, rev in zip(items, reverse, strict=True):
            mid = (points + 1) / 2
            y = mid + (points / 4) * (0.8 * latent + 0.6 * rng.normal())
            y = int(np.clip(np.rint(y), 1, points))
            raw = points + 1 - y if rev else y
            row[item] = None if rng.random() < missing[key] else raw
    return row


def make(n_units_sizes: list[int], seed: int, missing: dict[str, float]) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for u, size in enumerate(n_units_sizes, start=1):
        effect = rng.normal(scale=0.5)
        for _ in range(size):
            rows.append({"unit": f"u{u:02d}", **_respondent(rng, effect, missing)})
    return rows


def dataset_a() -> list[dict]:
    sizes = [1, 2, 3, 4, 40, 35, 30, 28, 25, 22, 20, 18, 16, 15, 14, 12, 10, 9, 8, 7, 6, 5, 5, 12,
             30, 25]  # fmt: skip
    rows = make(sizes, seed=20260101, missing={"a": 0.08, "b": 0.08, "c": 0.08, "d": 0.45})
    # A unit of 6 whose answers never vary (every reversed y is 4 as well): rwg(j) = 1, sd = 0.
    for _ in range(6):
        row: dict[str, object] = {"unit": "u27"}
        for items, points, reverse in SCALES.values():
            for item, rev in zip(items, reverse, strict=True):
                y = 4 if points == 5 else 6
                row[item] = points + 1 - y if rev else y
        rows.append(row)
    # Straight-liners: 16 identical answers; 15 identical answers and one skipped.
    rows.append({"unit": "u05", **dict.fromkeys(ITEMS, 3)})
    rows.append({"unit": "u06", **dict.fromkeys(ITEMS, 5), "d4": None})
    # 14 identical answers: too few answered items to judge, so not flagged.
    rows.append({"unit": "u06", **dict.fromkeys(ITEMS, 1), "d3": None, "d4": None})
    # Too few answers for any scale score (a: 2 of 5, b: 2 of 4, c: 1 of 3, d: none).
    rows.append({"unit": "u07", "a1": 4, "a2": 2, "b1": 5, "b2": 4, "c1": 3})
    # Exactly half of b and d (no score there) but a and c scored.
    rows.append({"unit": "u07", "a1": 5, "a3": 4, "a5": 4, "b1": 2, "b2": 2, "c1": 4, "c2": 5,
                 "d1": 6, "d3": 5})  # fmt: skip
    rows.append({"unit": "u08"})
    rows.append({"unit": "u09"})
    return rows


def dataset_b() -> list[dict]:
    return make([9, 8, 7, 6, 5, 3], seed=7, missing=dict.fromkeys(SCALES, 0.1))


def write(rows: list[dict], path: Path) -> None:
    order = np.random.default_rng(99).permutation(len(rows))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["unit", *ITEMS], lineterminator="\n")
        writer.writeheader()
        for i in order:
            writer.writerow({k: "" if v is None else v for k, v in rows[i].items()})


if __name__ == "__main__":
    write(dataset_a(), HERE / "score_input_a.csv")
    write(dataset_b(), HERE / "score_input_b.csv")
