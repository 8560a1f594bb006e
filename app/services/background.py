"""Background answers and response languages: counters and sums per wave, never rows per person.

A background answer (role, tenure, …) or the language someone answered in, stored on a response
next to its unit, picks that response out wherever a unit has one supervisor or one Spanish
speaker. So they never reach ``responses``: the mixer hands every batch it moves to
:func:`record_batch`, in the transaction that writes the batch's responses, and only these
jurisdiction-wide aggregates are kept (one wave belongs to one jurisdiction):

- ``background_counts``: per wave × question × option the number of respondents, with option 0
  for "not answered"; the language is counted the same way under :data:`LANGUAGE_QUESTION`
  (option = 1-based position in the instrument's languages, 0 = not recorded).
- ``language_item_sums``: per wave × language × pair of items (an item with itself included) the
  sufficient statistics of the answers of the respondents who answered both: ``n``, ``sum_a``,
  ``sum_b``, ``sum_ab``. That is enough for the item means, variances and covariances per
  language which the invariance test across languages needs (:func:`language_moments`).
  A language's answers are added ``min_report_n`` or more at a time; fewer wait in
  ``language_holdbacks``, sealed to the mix key, and what still waits at the close is deleted
  (so up to ``min_report_n - 1`` answer sets per language may be missing from the sums).

**Missing answers: pairwise deletion.** For items *a* and *b* only respondents who answered both
count: ``mean_a|ab = sum_a / n``, ``cov_ab = (sum_ab - sum_a * sum_b / n) / (n - 1)`` — the rule of
R's ``cov(x, use = "pairwise.complete.obs")`` and of pandas' ``DataFrame.cov()``. An item's own
mean and variance come from its row with itself (everyone who answered it).

**Publication.** A question's counts are shown only when every cell (each option and "not
answered") is 0 or at least the wave's ``min_report_n``; otherwise none of its cells is. Language
moments are given only for languages with at least ``min_report_n`` respondents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

import surveys
from app.models import (
    LANGUAGE_QUESTION,
    BackgroundCount,
    LanguageHoldback,
    LanguageItemSums,
    Wave,
)
from app.models import Instrument as InstrumentRow
from app.models.base import random_uuid
from app.services import sealing
from app.services.drafts import dialect_insert
from app.services.instruments import definition_of

__all__ = [
    "LANGUAGE_QUESTION",
    "BackgroundTable",
    "LanguageMoments",
    "background_tables",
    "discard_held",
    "language_moments",
    "language_sums",
    "record_batch",
]

_INSTRUMENTS: dict[tuple[int, str], surveys.Instrument] = {}


def _wave(session: Session, wave_id: int) -> tuple[surveys.Instrument, int]:
    """The wave's parsed instrument (cached per process) and its ``min_report_n``."""
    row = session.execute(
        select(Wave.instrument_id, InstrumentRow.checksum, Wave.min_report_n)
        .join(InstrumentRow, Wave.instrument_id == InstrumentRow.id)
        .where(Wave.id == wave_id)
    ).one_or_none()
    if row is None:
        raise ValueError(f"no wave {wave_id}")
    key = (int(row.instrument_id), str(row.checksum))
    parsed = _INSTRUMENTS.get(key)
    if parsed is None:
        instrument_row = session.get(InstrumentRow, row.instrument_id)
        assert instrument_row is not None  # a wave's instrument is a foreign key
        parsed = _INSTRUMENTS[key] = definition_of(instrument_row)
    return parsed, int(row.min_report_n)


def record_batch(
    session: Session,
    wave_id: int,
    jurisdiction_id: int,
    entries: list[dict[str, Any]],
    *,
    mix_keys: sealing.Keyring | None = None,
) -> None:
    """Add one moved batch to the wave's counters and per-language sums (the caller commits).

    Each entry is one answer set: ``{"background": {question: option or None}, "language":
    "en", "items": {item: answer or None}}`` (questions or items left out count as not
    answered). Raises ValueError, before anything is written, for a question, option or item the
    wave's instrument does not have.

    A language's answers reach the sums only ``min_report_n`` or more at a time (sums over fewer
    would be nearly their answers, and a copy of the database before and after a batch would tell
    what one batch added). Fewer wait in ``language_holdbacks`` sealed to the mix public key; the
    mixer passes ``mix_keys`` to seal them and to open them once enough have come. Without keys
    (the demo's seeding, which hands over whole waves) a group too small is not kept at all.
    """
    if not entries:
        return
    instrument, min_n = _wave(session, wave_id)
    counts = _count_background(instrument, entries)
    groups = _language_rows(instrument, entries)
    ready = _release_groups(session, wave_id, groups, min_n, mix_keys)
    sums = _item_sums(instrument.item_keys, ready)
    upsert = dialect_insert(session)
    statement = upsert(BackgroundCount)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                BackgroundCount.wave_id,
                BackgroundCount.question,
                BackgroundCount.option,
            ],
            set_={"count": BackgroundCount.__table__.c.count + statement.excluded["count"]},
        ),
        [
            {
                "wave_id": wave_id,
                "question": question,
                "option": option,
                "jurisdiction_id": jurisdiction_id,
                "count": count,
            }
            for (question, option), count in sorted(counts.items())
        ],
    )
    if not sums:
        return
    table = LanguageItemSums.__table__.c
    statement = upsert(LanguageItemSums)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                LanguageItemSums.wave_id,
                LanguageItemSums.language,
                LanguageItemSums.item_a,
                LanguageItemSums.item_b,
            ],
            set_={
                name: table[name] + statement.excluded[name]
                for name in ("n", "sum_a", "sum_b", "sum_ab")
            },
        ),
        [{"wave_id": wave_id, "jurisdiction_id": jurisdiction_id, **row} for row in sums],
    )


def _count_background(
    instrument: surveys.Instrument, entries: Sequence[Mapping[str, Any]]
) -> Counter[tuple[str, int]]:
    questions = {q.key: len(next(iter(q.options.values()))) for q in instrument.background}
    counts: Counter[tuple[str, int]] = Counter()
    for entry in entries:
        answers: Mapping[str, Any] = entry.get("background") or {}
        unknown = sorted(set(answers) - set(questions))
        if unknown:
            raise ValueError(f"unknown background question {unknown[0]!r}")
        for key, options in questions.items():
            value = answers.get(key)
            option = 0 if value is None else value
            if type(option) is not int or not 0 <= option <= options:
                raise ValueError(f"{key}: {value!r} is outside 1..{options}")
            counts[(key, option)] += 1
        language = entry.get("language")
        languages = instrument.languages
        option = languages.index(language) + 1 if language in languages else 0
        counts[(LANGUAGE_QUESTION, option)] += 1
    return counts


def _language_rows(
    instrument: surveys.Instrument, entries: Sequence[Mapping[str, Any]]
) -> dict[str, list[np.ndarray]]:
    """Each entry's items as a row (NaN = not answered), grouped by language."""
    keys = instrument.item_keys
    position = {key: i for i, key in enumerate(keys)}
    points = {
        item.key: scale.response_scale.points for scale in instrument.scales for item in scale.items
    }
    by_language: dict[str, list[np.ndarray]] = {}
    for entry in entries:
        row = np.full(len(keys), np.nan)
        for key, value in (entry.get("items") or {}).items():
            if key not in position:
                raise ValueError(f"unknown item {key!r}")
            if value is None:
                continue
            if type(value) is not int or not 1 <= value <= points[key]:
                raise ValueError(f"{key}: {value!r} is outside 1..{points[key]}")
            row[position[key]] = value
        language = entry.get("language")
        if language in instrument.languages:  # an unrecorded language has no sums to join
            by_language.setdefault(str(language), []).append(row)
    return by_language


def _encode(row: np.ndarray) -> bytes:
    # One byte per item (0 = not answered): every held entry has the same length.
    return bytes(0 if np.isnan(v) else int(v) for v in row)


def _decode(raw: bytes) -> np.ndarray:
    return np.array([np.nan if b == 0 else float(b) for b in raw])


def _release_groups(
    session: Session,
    wave_id: int,
    groups: Mapping[str, list[np.ndarray]],
    min_n: int,
    mix_keys: sealing.Keyring | None,
) -> dict[str, list[np.ndarray]]:
    """The rows to add to the sums now, per language; the rest is held back (sealed) or dropped."""
    ready: dict[str, list[np.ndarray]] = {}
    for language, rows in sorted(groups.items()):
        held = (
            session.execute(
                select(LanguageHoldback.id, LanguageHoldback.sealed).where(
                    LanguageHoldback.wave_id == wave_id, LanguageHoldback.language == language
                )
            ).all()
            if mix_keys is not None
            else []
        )
        if len(held) + len(rows) >= min_n:
            assert mix_keys is not None or not held
            opened = [_decode(mix_keys.open(bytes(blob))) for _, blob in held] if mix_keys else []
            if held:
                session.execute(
                    delete(LanguageHoldback)
                    .where(LanguageHoldback.id.in_([row_id for row_id, _ in held]))
                    .execution_options(synchronize_session=False)
                )
            ready[language] = [*rows, *opened]
        elif mix_keys is not None:
            public = mix_keys.public
            session.execute(
                insert(LanguageHoldback),
                [
                    {
                        "id": random_uuid(),
                        "wave_id": wave_id,
                        "language": language,
                        "sealed": public.seal(_encode(row)),
                    }
                    for row in rows
                ],
            )
    return ready


def discard_held(session: Session, wave_id: int) -> int:
    """Delete what still waits for its language when the wave closes (the caller commits)."""
    result = session.execute(
        delete(LanguageHoldback)
        .where(LanguageHoldback.wave_id == wave_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _item_sums(
    keys: tuple[str, ...], by_language: Mapping[str, list[np.ndarray]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    upper = np.triu_indices(len(keys))
    for language, answer_rows in sorted(by_language.items()):
        if not answer_rows:
            continue
        x = np.vstack(answer_rows)
        answered = (~np.isnan(x)).astype(np.int64)
        values = np.where(answered == 1, x, 0).astype(np.int64)
        n = answered.T @ answered  # n[a, b]: answered both
        partial = values.T @ answered  # partial[a, b]: sum of a where b was answered too
        products = values.T @ values
        for a, b in zip(*upper, strict=True):
            if n[a, b]:
                rows.append(
                    {
                        "language": language,
                        "item_a": keys[a],
                        "item_b": keys[b],
                        "n": int(n[a, b]),
                        "sum_a": int(partial[a, b]),
                        "sum_b": int(partial[b, a]),
                        "sum_ab": int(products[a, b]),
                    }
                )
    return rows


# --- what may be published ---------------------------------------------------------------------


@dataclass(frozen=True)
class BackgroundTable:
    """One question's counts for a wave: ``counts[0]`` not answered, ``counts[i]`` option i.

    ``counts`` is None when the question is hidden (``reason`` says why): then not one of its
    cells may be shown, so none is handed out.
    """

    question: str
    counts: tuple[int, ...] | None
    reason: str | None = None

    @property
    def shown(self) -> bool:
        return self.counts is not None


def background_tables(session: Session, wave_id: int) -> list[BackgroundTable]:
    """Every background question of the wave (and the language), shown or hidden."""
    instrument, min_n = _wave(session, wave_id)
    stored: dict[tuple[str, int], int] = {
        (question, option): count
        for question, option, count in session.execute(
            select(BackgroundCount.question, BackgroundCount.option, BackgroundCount.count).where(
                BackgroundCount.wave_id == wave_id
            )
        )
    }
    questions = [(q.key, len(next(iter(q.options.values())))) for q in instrument.background]
    questions.append((LANGUAGE_QUESTION, len(instrument.languages)))
    tables = []
    for key, options in questions:
        counts = tuple(stored.get((key, option), 0) for option in range(options + 1))
        small = [c for c in counts if 0 < c < min_n]
        if small:
            reason = f"a cell has fewer than {min_n} answers"
            tables.append(BackgroundTable(key, None, reason))
        else:
            tables.append(BackgroundTable(key, counts))
    return tables


@dataclass(frozen=True)
class LanguageMoments:
    """Item means and covariances (pairwise deletion) of one language's respondents."""

    language: str
    respondents: int
    items: tuple[str, ...]
    #: n[a][b]: respondents who answered both items.
    n: tuple[tuple[int, ...], ...]
    means: tuple[float | None, ...]
    covariance: tuple[tuple[float | None, ...], ...]


def language_moments(session: Session, wave_id: int) -> list[LanguageMoments]:
    """Per language with at least ``min_report_n`` respondents: what the invariance test needs."""
    instrument, min_n = _wave(session, wave_id)
    respondents = {
        option: count
        for option, count in session.execute(
            select(BackgroundCount.option, BackgroundCount.count).where(
                BackgroundCount.wave_id == wave_id,
                BackgroundCount.question == LANGUAGE_QUESTION,
            )
        )
    }
    keys = instrument.item_keys
    position = {key: i for i, key in enumerate(keys)}
    found = []
    for index, language in enumerate(instrument.languages, start=1):
        total = respondents.get(index, 0)
        if total < min_n:
            continue
        rows = session.execute(
            select(
                LanguageItemSums.item_a,
                LanguageItemSums.item_b,
                LanguageItemSums.n,
                LanguageItemSums.sum_a,
                LanguageItemSums.sum_b,
                LanguageItemSums.sum_ab,
            ).where(LanguageItemSums.wave_id == wave_id, LanguageItemSums.language == language)
        )
        found.append(_moments(language, total, keys, position, rows))
    return found


def language_sums(session: Session, wave_id: int) -> dict[str, dict[str, Any]]:
    """The stored pair sums per language with at least ``min_report_n`` respondents, as
    :meth:`scoring.sufficient.PairSums.to_dict` (raw answers), for a psychometric contribution.

    Languages below the threshold are left out altogether, as :func:`language_moments` does.
    """
    instrument, min_n = _wave(session, wave_id)
    respondents = {
        option: count
        for option, count in session.execute(
            select(BackgroundCount.option, BackgroundCount.count).where(
                BackgroundCount.wave_id == wave_id,
                BackgroundCount.question == LANGUAGE_QUESTION,
            )
        )
    }
    out: dict[str, dict[str, Any]] = {}
    for index, language in enumerate(instrument.languages, start=1):
        total = respondents.get(index, 0)
        if total < min_n:
            continue
        pairs = [
            [str(a), str(b), int(n), int(sa), int(sb), int(sab)]
            for a, b, n, sa, sb, sab in session.execute(
                select(
                    LanguageItemSums.item_a,
                    LanguageItemSums.item_b,
                    LanguageItemSums.n,
                    LanguageItemSums.sum_a,
                    LanguageItemSums.sum_b,
                    LanguageItemSums.sum_ab,
                )
                .where(LanguageItemSums.wave_id == wave_id, LanguageItemSums.language == language)
                .order_by(LanguageItemSums.item_a, LanguageItemSums.item_b)
            )
        ]
        if pairs:
            out[language] = {
                "respondents": total,
                "items": list(instrument.item_keys),
                "pairs": pairs,
            }
    return out


def _moments(
    language: str,
    total: int,
    keys: tuple[str, ...],
    position: Mapping[str, int],
    rows: Iterable[tuple[str, str, int, int, int, int]],
) -> LanguageMoments:
    k = len(keys)
    n = [[0] * k for _ in range(k)]
    means: list[float | None] = [None] * k
    cov: list[list[float | None]] = [[None] * k for _ in range(k)]
    for item_a, item_b, pair_n, sum_a, sum_b, sum_ab in rows:
        a, b = position[item_a], position[item_b]
        n[a][b] = n[b][a] = pair_n
        if a == b:
            means[a] = sum_a / pair_n
        if pair_n >= 2:
            cov[a][b] = cov[b][a] = (sum_ab - sum_a * sum_b / pair_n) / (pair_n - 1)
    return LanguageMoments(
        language=language,
        respondents=total,
        items=keys,
        n=tuple(tuple(row) for row in n),
        means=tuple(means),
        covariance=tuple(tuple(row) for row in cov),
    )
