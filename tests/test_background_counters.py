"""Background counters and per-language sums: exact, thresholded, no small group's answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import surveys
from app.models import (
    BackgroundCount,
    Jurisdiction,
    LanguageHoldback,
    LanguageItemSums,
    Wave,
    WaveStatus,
)
from app.services import background, sealing
from app.services.instruments import ensure_instrument

INSTRUMENT = surveys.load_default()
KEYS = INSTRUMENT.item_keys


def _wave(session: Session, min_report_n: int = 5) -> Wave:
    row = ensure_instrument(session, INSTRUMENT)
    suffix = uuid.uuid4().hex[:8]
    jurisdiction = Jurisdiction(name=f"County {suffix}", slug=f"c-{suffix}")
    session.add(jurisdiction)
    session.flush()
    now = datetime.now(UTC)
    wave = Wave(
        jurisdiction_id=jurisdiction.id,
        instrument_id=row.id,
        year=2026,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=10),
        status=WaveStatus.OPEN,
        min_report_n=min_report_n,
    )
    session.add(wave)
    session.commit()
    return wave


def _keyring() -> sealing.Keyring:
    private, _ = sealing.generate("mix")
    return sealing.Keyring("mix", (private,))


def _random_entries(rng: np.random.Generator, n: int, language: str) -> list[dict[str, Any]]:
    entries = []
    for _ in range(n):
        items: dict[str, int | None] = {
            key: (None if rng.random() < 0.2 else int(rng.integers(1, 6))) for key in KEYS
        }
        entries.append(
            {
                "background": {"role": int(rng.integers(1, 6)), "tenure": None},
                "language": language,
                "items": items,
            }
        )
    return entries


def test_sums_give_the_pairwise_means_and_covariances_pandas_computes(session: Session) -> None:
    """Fed in shuffled batches of 7, checked against pandas' pairwise covariance of the same rows.

    What is still held back at the end (fewer than 5 of a language since the last addition) is
    opened with the mix key and left out of the expected figures, as it is out of the sums.
    """
    wave = _wave(session, min_report_n=5)
    keys = _keyring()
    rng = np.random.default_rng(9)
    entries = _random_entries(rng, 40, "en") + _random_entries(rng, 13, "es")
    shuffled = [entries[i] for i in rng.permutation(len(entries))]
    for start in range(0, len(shuffled), 7):
        background.record_batch(
            session, wave.id, wave.jurisdiction_id, shuffled[start : start + 7], mix_keys=keys
        )
    session.commit()
    moments = {m.language: m for m in background.language_moments(session, wave.id)}
    held = session.execute(select(LanguageHoldback.language, LanguageHoldback.sealed)).all()
    for language, expected_n in (("en", 40), ("es", 13)):
        rows = [[e["items"][k] or 0 for k in KEYS] for e in entries if e["language"] == language]
        for held_language, sealed in held:
            if held_language == language:
                rows.remove(list(keys.open(bytes(sealed))))  # one entry out, exactly
        assert 0 <= expected_n - len(rows) < 5
        frame = pd.DataFrame(rows, columns=list(KEYS)).replace(0, np.nan).astype(float)
        got = moments[language]
        assert got.respondents == expected_n  # the counter has everyone
        np.testing.assert_allclose(np.array(got.means, dtype=float), frame.mean(), atol=1e-12)
        np.testing.assert_allclose(
            np.array(got.covariance, dtype=float), frame.cov().to_numpy(), atol=1e-12
        )


def test_all_sums_match_pandas_once_nothing_is_held(session: Session) -> None:
    wave = _wave(session, min_report_n=5)
    rng = np.random.default_rng(11)
    entries = _random_entries(rng, 30, "en") + _random_entries(rng, 10, "es")
    background.record_batch(
        session, wave.id, wave.jurisdiction_id, entries[:20], mix_keys=_keyring()
    )
    background.record_batch(session, wave.id, wave.jurisdiction_id, entries[20:])
    session.commit()
    moments = {m.language: m for m in background.language_moments(session, wave.id)}
    for language in ("en", "es"):
        frame = pd.DataFrame(
            [e["items"] for e in entries if e["language"] == language], columns=list(KEYS)
        ).astype(float)
        got = moments[language]
        np.testing.assert_allclose(np.array(got.means, dtype=float), frame.mean(), atol=1e-12)
        np.testing.assert_allclose(
            np.array(got.covariance, dtype=float), frame.cov().to_numpy(), atol=1e-12
        )
        pairwise = frame.notna().astype(int)
        assert np.array_equal(np.array(got.n), (pairwise.T @ pairwise).to_numpy())


def test_a_lone_spanish_speaker_leaves_no_sums_only_a_sealed_entry(session: Session) -> None:
    """One Spanish answer set among English ones: nothing stored in the clear holds its answers."""
    wave = _wave(session, min_report_n=5)
    keys = _keyring()
    rng = np.random.default_rng(3)
    english = _random_entries(rng, 9, "en")
    lone = {"background": {}, "language": "es", "items": {key: 4 for key in KEYS}}
    background.record_batch(session, wave.id, wave.jurisdiction_id, [*english, lone], mix_keys=keys)
    session.commit()
    spanish_sums = session.scalar(
        select(func.count())
        .select_from(LanguageItemSums)
        .where(LanguageItemSums.wave_id == wave.id, LanguageItemSums.language == "es")
    )
    assert spanish_sums == 0
    held = session.scalars(
        select(LanguageHoldback).where(LanguageHoldback.wave_id == wave.id)
    ).all()
    assert [h.language for h in held] == ["es"]
    assert bytes([4] * len(KEYS)) not in bytes(held[0].sealed)
    assert background.language_moments(session, wave.id)[0].language == "en"
    # Four more Spanish speakers: the five are added together, and the held entry is gone.
    more = _random_entries(rng, 4, "es")
    background.record_batch(session, wave.id, wave.jurisdiction_id, more, mix_keys=keys)
    session.commit()
    assert session.scalar(select(func.count()).select_from(LanguageHoldback)) == 0
    es = {m.language: m for m in background.language_moments(session, wave.id)}["es"]
    assert es.respondents == 5
    expected = pd.DataFrame([lone["items"], *[e["items"] for e in more]], columns=list(KEYS))
    np.testing.assert_allclose(
        np.array(es.means, dtype=float), expected.astype(float).mean(), atol=1e-12
    )


def test_without_keys_a_small_group_is_not_kept(session: Session) -> None:
    wave = _wave(session, min_report_n=5)
    lone = {"background": {}, "language": "es", "items": {KEYS[0]: 2}}
    background.record_batch(session, wave.id, wave.jurisdiction_id, [lone])
    session.commit()
    assert session.scalar(select(func.count()).select_from(LanguageItemSums)) == 0
    assert session.scalar(select(func.count()).select_from(LanguageHoldback)) == 0


def test_a_question_with_a_cell_below_the_threshold_is_hidden_whole(session: Session) -> None:
    wave = _wave(session, min_report_n=5)
    entries: list[dict[str, Any]] = [
        {"background": {"role": 1, "tenure": 1 + i % 2}, "language": "en", "items": {}}
        for i in range(10)
    ]
    entries.append({"background": {"role": 2, "tenure": 1}, "language": "en", "items": {}})
    background.record_batch(session, wave.id, wave.jurisdiction_id, entries)
    session.commit()
    tables = {t.question: t for t in background.background_tables(session, wave.id)}
    # role: 10 caseworkers and 1 supervisor -> hidden, not one cell handed out.
    assert tables["role"].counts is None and not tables["role"].shown
    assert tables["role"].reason == "a cell has fewer than 5 answers"
    # tenure: 6 and 5, nobody unanswered -> shown; language: 11 English.
    assert tables["tenure"].counts == (0, 6, 5, 0, 0)
    assert tables[background.LANGUAGE_QUESTION].counts == (0, 11, 0)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"background": {"shoe_size": 2}}, "unknown background question 'shoe_size'"),
        ({"background": {"role": 9}}, "role: 9 is outside 1..5"),
        ({"items": {"nope": 1}}, "unknown item 'nope'"),
        ({"items": {KEYS[0]: 6}}, f"{KEYS[0]}: 6 is outside 1..5"),
    ],
)
def test_a_bad_entry_is_refused_and_nothing_is_written(
    session: Session, entry: dict[str, Any], message: str
) -> None:
    wave = _wave(session)
    good = {"background": {"role": 1}, "language": "en", "items": {KEYS[0]: 3}}
    with pytest.raises(ValueError, match=message):
        background.record_batch(
            session, wave.id, wave.jurisdiction_id, [good, {"language": "en", **entry}]
        )
    counted = session.scalar(
        select(func.count()).select_from(BackgroundCount).where(BackgroundCount.wave_id == wave.id)
    )
    assert counted == 0
