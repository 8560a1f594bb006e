"""Benchmark: the national psychometric report from contributions and from pooled rows.

15 jurisdictions × 7,000 respondents × the default instrument's 36 items (generated answers,
teams of about 10, a quarter answering in Spanish). Times, in one run:

(a) each jurisdiction computing its contribution (sufficient statistics + per-language pair
    sums, as JSON);
(b) the nation building every statistic of the psychometric report from the 15 contributions
    (:func:`app.services.national_report.compute_report`: parse, pool, reliability and ICC per
    scale for the nation and each jurisdiction, EFA with parallel analysis, CFA of the nation and
    of each jurisdiction, invariance across jurisdictions and across languages with the
    scale-by-scale screen of the items that break it);
(c) the same statistics from the 105,000 pooled rows with the row-based functions.

Prints the size of one contribution in bytes and the load average next to every time.
Target: (b) ≤ 10 s and faster than (c).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# One BLAS thread: on the shared 2-core machine a threaded OpenBLAS spins against the other
# work and makes the small (36 × 36) solves of the CFA up to four times slower.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import scoring  # noqa: E402
import surveys  # noqa: E402
from app.demo_data import generate_answers, new_team_effects  # noqa: E402
from app.services.national_report import FIT_MIN_N, NATION, compute_report  # noqa: E402
from scoring.efa import efa  # noqa: E402
from scoring.sufficient import (  # noqa: E402
    DELTA_CFI,
    first_broken_step,
    pair_sums,
    scale_invariance,
    sufficient_statistics,
)

JURISDICTIONS = int(os.environ.get("BENCH_JURISDICTIONS", "15"))
PER_JURISDICTION = int(os.environ.get("BENCH_RESPONDENTS", "7000"))
TEAM_SIZE = 10
SPANISH = 0.25


def _load() -> str:
    return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def _data() -> tuple[list[pd.DataFrame], list[np.ndarray], list[np.ndarray]]:
    """Per jurisdiction: reverse-scored answers, team of each row, language of each row."""
    instrument = surveys.load_default()
    rng = np.random.default_rng(2026)
    frames, units, languages = [], [], []
    for j in range(JURISDICTIONS):
        teams = PER_JURISDICTION // TEAM_SIZE
        team_of = np.repeat(np.arange(teams), TEAM_SIZE)
        answers = generate_answers(
            instrument, team_of, new_team_effects(instrument, teams, rng), rng
        )
        frame = pd.DataFrame(answers, columns=list(instrument.item_keys))
        for scale in instrument.scales:
            for item in scale.items:
                if item.reverse:
                    frame[item.key] = scale.response_scale.points + 1 - frame[item.key]
        frames.append(frame)
        units.append(np.array([f"j{j}-t{t}" for t in team_of]))
        languages.append(np.where(rng.random(len(frame)) < SPANISH, "es", "en"))
    return frames, units, languages


def _raw(frame: pd.DataFrame, instrument: surveys.Instrument) -> pd.DataFrame:
    """Back to raw answers: the mixer keeps per-language sums before reverse-scoring."""
    out = frame.copy()
    for scale in instrument.scales:
        for item in scale.items:
            if item.reverse:
                out[item.key] = scale.response_scale.points + 1 - out[item.key]
    return out


def _contribution(
    frame: pd.DataFrame, unit: np.ndarray, language: np.ndarray, instrument: surveys.Instrument
) -> str:
    scales = {s.key: list(s.item_keys) for s in instrument.scales}
    stats = sufficient_statistics(frame, scales, points=5, unit=unit)
    raw = _raw(frame, instrument)
    payload = {
        "wave": {"year": 2026, "invited": len(frame), "responses": len(frame)},
        "statistics": stats.to_dict(),
        "languages": {code: pair_sums(raw[language == code]).to_dict() for code in ("en", "es")},
    }
    return json.dumps(payload)


def _screen(
    rows: pd.DataFrame, scales: dict[str, list[str]], group: str
) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """The scale-by-scale invariance screen of scoring.sufficient.scale_invariance, on rows."""
    out: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    for key, members in scales.items():
        fits = scoring.invariance(rows[[*members, group]], {key: members}, group=group)
        cfi = {s: (1.0 if f.df == 0 else f.cfi) if f.converged else None for s, f in fits.items()}
        broken = first_broken_step(cfi)
        culprits: tuple[str, ...] = ()
        if broken is not None and len(members) >= 4:
            before = {"metric": "configural", "scalar": "metric"}[broken]
            gaps = {}
            for drop in members:
                rest = [i for i in members if i != drop]
                sub = scoring.invariance(rows[[*rest, group]], {key: rest}, group=group)
                a, b = sub[before], sub[broken]
                a_cfi = 1.0 if a.df == 0 else a.cfi
                gaps[drop] = a_cfi - b.cfi
            culprits = tuple(i for i in members if gaps[i] <= DELTA_CFI + 1e-12) or (
                min(gaps, key=lambda i: gaps[i]),
            )
        out[key] = (broken, culprits)
    return out


def _from_rows(
    frames: list[pd.DataFrame],
    units: list[np.ndarray],
    languages: list[np.ndarray],
    instrument: surveys.Instrument,
) -> dict[str, Any]:
    scales = {s.key: list(s.item_keys) for s in instrument.scales}
    items = list(instrument.item_keys)
    rows = pd.concat(frames, ignore_index=True)
    rows["jurisdiction"] = np.repeat(
        [f"J{j}" for j in range(len(frames))], [len(f) for f in frames]
    )
    rows["language"] = np.concatenate(languages)
    unit = np.concatenate(units)
    groups = [(NATION, rows, unit)] + [
        (f"J{j}", rows[rows["jurisdiction"] == f"J{j}"], units[j]) for j in range(len(frames))
    ]
    out: dict[str, Any] = {"alpha": {}, "icc1": {}, "cfa": {}}
    for name, part, part_unit in groups:
        for key, members in scales.items():
            out["alpha"][(name, key)] = scoring.reliability(part[members].dropna()).alpha
            block = part[members]
            enough = block.notna().sum(axis=1) >= len(members) // 2 + 1
            score = np.where(enough, (block.mean(axis=1) - 1) / 4 * 100, np.nan)
            out["icc1"][(name, key)] = scoring.icc(score, part_unit).icc1
        if part[items].dropna().shape[0] >= FIT_MIN_N:
            out["cfa"][name] = scoring.cfa_fit(part, scales).cfi
    complete = rows[items].dropna()
    out["kmo"] = efa(complete.corr().to_numpy(), len(complete), items).kmo
    jur = scoring.invariance(rows, scales, group="jurisdiction")
    out["inv_jurisdictions"] = {s: f.cfi for s, f in jur.items()}
    # As the contributions' instrument moments: the rows that answered every item.
    out["screen_jurisdictions"] = _screen(rows.dropna(subset=items), scales, "jurisdiction")
    # Languages: the contributions give pairwise-deletion moments; the same from the rows
    # (already reverse-scored, so no sign to undo).
    moments = []
    for code in ("en", "es"):
        part = rows[rows["language"] == code][items]
        answered = part.notna().to_numpy(dtype=np.float64)
        n = int((answered.T @ answered).min())
        cov = part.cov().to_numpy() * (n - 1) / n
        moments.append((n, part.mean().to_numpy(), cov))
    lang = scoring.invariance_from_moments(moments, items, scales)
    out["inv_languages"] = {s: f.cfi for s, f in lang.items()}
    out["screen_languages"] = scale_invariance(moments, items, scales)
    return out


def main() -> None:
    # Load the fitting code before the clocks start (a web process has long done so): otherwise
    # whichever of (b) and (c) runs first pays for importing scipy.optimize and factor-analyzer.
    import factor_analyzer  # noqa: F401

    import scoring.cfa

    instrument = surveys.load_default()
    frames, units, languages = _data()
    n_rows = sum(len(f) for f in frames)
    print(
        f"{JURISDICTIONS} jurisdictions × {PER_JURISDICTION} respondents = {n_rows} rows, "
        f"{len(instrument.item_keys)} items, {len(instrument.scales)} scales; {_load()}"
    )

    t0 = time.perf_counter()
    files = [
        _contribution(f, u, lang, instrument)
        for f, u, lang in zip(frames, units, languages, strict=True)
    ]
    t_a = time.perf_counter() - t0
    print(
        f"(a) contributions computed: {t_a:.2f} s for all {JURISDICTIONS}; one contribution is "
        f"{len(files[0].encode())} bytes of JSON; {_load()}"
    )

    t0 = time.perf_counter()
    parts = [(f"J{j}", json.loads(text)) for j, text in enumerate(files)]
    report = compute_report(parts, instrument, scope="nation")
    t_b = time.perf_counter() - t0
    print(f"(b) report statistics from contributions: {t_b:.2f} s; {_load()}")
    # How much of (b) the scale-by-scale invariance screen across jurisdictions takes.
    scales = {s.key: list(s.item_keys) for s in instrument.scales}
    moments = [
        (m.n, m.mean, m.covariance(ddof=0))
        for m in (
            scoring.SufficientStatistics.from_dict(p["statistics"]).combined().instrument
            for _, p in parts
        )
    ]
    t0 = time.perf_counter()
    scale_invariance(moments, list(instrument.item_keys), scales)
    print(
        f"    of which the invariance screen across jurisdictions alone takes "
        f"{time.perf_counter() - t0:.2f} s; {_load()}"
    )

    t0 = time.perf_counter()
    rows = _from_rows(frames, units, languages, instrument)
    t_c = time.perf_counter() - t0
    print(f"(c) the same statistics from pooled rows:  {t_c:.2f} s; {_load()}")

    titles = {_title(s): s.key for s in instrument.scales}
    diffs = [
        abs((r.alpha or 0) - (rows["alpha"][(r.group, titles[r.scale])] or 0))
        for r in report["reliability"]
    ]
    diffs += [
        abs((r.icc1 or 0) - (rows["icc1"][(r.group, titles[r.scale])] or 0)) for r in report["icc"]
    ]
    diffs += [abs((f.cfi or 0) - rows["cfa"][f.group]) for f in report["cfa"]]
    diffs.append(abs((report["efa"].kmo or 0) - (rows["kmo"] or 0)))
    for inv in report["invariance"]:
        other = rows["inv_" + inv.across]
        diffs += [abs((s.fit.cfi or 0) - other[s.step]) for s in inv.steps]
    screen = rows["screen_jurisdictions"]
    jurisdictions = next(i for i in report["invariance"] if i.across == "jurisdictions")
    texts = {i.key: i.text["en"] for s in instrument.scales for i in s.items}
    same_screen = all(
        (row.broken, row.items)
        == (screen[titles[row.scale]][0], tuple(texts[i] for i in screen[titles[row.scale]][1]))
        for row in jurisdictions.scales
    )
    print(
        f"largest difference (b) vs (c) over alpha, ICC(1), CFA CFI, KMO, invariance CFI: "
        f"{max(diffs):.1e}; same items named as breaking invariance: {same_screen}"
    )
    print(
        "invariance reached: " + ", ".join(f"{i.across} {i.reached}" for i in report["invariance"])
    )
    verdict = "met" if t_b <= 10 and t_b < t_c else "NOT met"
    print(f"target ((b) ≤ 10 s and faster than (c)): {verdict}")


def _title(scale: Any) -> str:
    return str(scale.title["en"])


if __name__ == "__main__":
    main()
