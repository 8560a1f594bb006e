"""Contributions: what leaves a jurisdiction for a wave, its approval, signed export and import.

A contribution is computed inside the jurisdiction from its own responses and holds only what
its data-sharing agreement allows: at "psychometric" level sufficient statistics
(:mod:`scoring.sufficient`), never a row. The same payload is stored in this deployment's
national store on approval and can be written as a file signed with the jurisdiction's Ed25519
key, which another (national) instance verifies before loading it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import scoring
import surveys
from app.i18n import lazy_message as _l
from app.i18n import value_label
from app.models import (
    Contribution,
    Instrument,
    Invitation,
    Jurisdiction,
    ReceivedContribution,
    Response,
    SharingLevel,
    TrustedKey,
    UnitKind,
    User,
    Wave,
    WaveStatus,
    utcnow,
)
from app.services import audit, background
from app.services.access import can_manage_jurisdiction, is_national, require
from app.services.instruments import definition_of
from app.services.jurisdictions import NotFound
from app.services.sharing import current_agreement
from scoring.sufficient import PairSums

PAYLOAD_FORMAT = "safety-culture-contribution/1"
#: The benchmark section's own version: importing refuses any other.
BENCHMARK_FORMAT = "safety-culture-benchmark/1"
#: A signed notice that contributions already sent are withdrawn (same signed envelope).
WITHDRAWAL_FORMAT = "safety-culture-withdrawal/1"
#: Bands for the n of a shown figure (lower ends; the wave's minimum is the first band).
N_BANDS = (10, 20, 50, 100)
FILE_FORMAT = "safety-culture-contribution-signed/1"
#: Largest contribution file accepted (a 36-item instrument in two languages is ~60 kB).
MAX_FILE_BYTES = 5_000_000


class ContributionError(Exception):
    """A contribution that cannot be built, approved or exported (one line saying why)."""


class ImportRefused(ContributionError):
    """A contribution file the national store refuses; nothing was imported."""


@dataclass(frozen=True)
class Preview:
    """What would leave, before approval: the payload and a few facts to show beside it."""

    wave_id: int
    level: SharingLevel
    payload: dict[str, Any]
    respondents: int
    size_bytes: int


def canonical(payload: dict[str, Any]) -> bytes:
    """The bytes that are hashed and signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _n_band(n: int, min_n: int) -> int:
    """The lower end of the band a shown cell's n falls in: enough to check it, no more."""
    return max([min_n] + [b for b in N_BANDS if b <= n])


def benchmark_figures(session: Session, wave: Wave) -> dict[str, Any]:
    """The published figures of the wave's shown units, for national benchmarks.

    Read from the wave's own publication (no change, no benchmarks of others), so a
    contribution can never hold a number a report hides: per unit kind and scale, the scale
    % positive of every unit whose cell is shown, with the band its n falls in, sorted by
    value so that neither order nor grouping says which unit (no names, no ids, and a unit's
    figures on two scales are not tied together); and the whole wave's shown % positive per
    scale, which the national rule needs so that no percentile equals a jurisdiction's own
    figure. An empty dict when the wave has no responses.
    """
    from app.services.reports.errors import NoResponses
    from app.services.reports.publication import own_publication
    from app.services.reports.results import load_wave

    try:
        pub = own_publication(load_wave(session, wave.id))
    except NoResponses:
        return {}
    figures: dict[str, dict[str, list[list[float]]]] = {}
    for unit in pub.units.values():
        if not unit.shown:
            continue
        for key, cell in unit.scales.items():
            if cell.shown and cell.pct_positive is not None and cell.n is not None:
                figures.setdefault(unit.kind, {}).setdefault(key, []).append(
                    [float(cell.pct_positive), _n_band(cell.n, pub.min_n)]
                )
    for scales in figures.values():
        for values in scales.values():
            values.sort()
    overall = {
        key: float(cell.pct_positive)
        for key, cell in pub.overall.scales.items()
        if pub.overall.shown and cell.shown and cell.pct_positive is not None
    }
    return {
        "format": BENCHMARK_FORMAT,
        "min_n": pub.min_n,
        "units": figures,
        "overall": overall,
    }


def _scales(instrument: surveys.Instrument) -> dict[str, list[str]]:
    return {s.key: [i.key for i in s.items] for s in instrument.scales}


def _statistics(session: Session, wave: Wave, instrument: surveys.Instrument) -> dict[str, Any]:
    scales = _scales(instrument)
    items = [i for members in scales.values() for i in members]
    reverse = {i.key for s in instrument.scales for i in s.items if i.reverse}
    points_of = {i.key: s.response_scale.points for s in instrument.scales for i in s.items}
    rows = session.execute(
        select(Response.unit_id, Response.answers).where(Response.wave_id == wave.id)
    ).all()
    frame = pd.DataFrame(
        [{k: a.get(k) for k in items} for _, a in rows], columns=items, dtype=np.float64
    )
    for key in reverse:
        frame[key] = points_of[key] + 1 - frame[key]
    points = {s.key: s.response_scale.points for s in instrument.scales}
    # Responses carry no language (an answer is tied to nobody, not even to a link's language):
    # every respondent is in the group "all" until the per-language statistics exist.
    stats = scoring.sufficient_statistics(
        frame, scales, points=points, unit=np.array([u for u, _ in rows])
    )
    return stats.to_dict()


def build_contribution(session: Session, actor: User | None, wave_id: int) -> Preview:
    """What the wave's agreement lets leave, computed now (its own administrators only)."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(_l("no wave %(id)s", id=wave_id))
    if actor is not None:
        require(
            can_manage_jurisdiction(actor, wave.jurisdiction_id), _l("this wave's contribution")
        )
    jurisdiction = session.get(Jurisdiction, wave.jurisdiction_id)
    assert jurisdiction is not None  # foreign key
    if wave.status != WaveStatus.CLOSED:
        # One publication per wave, made at the close: an open wave's figures still change, and
        # two contributions of one wave would differ by the answers that came in between.
        raise ContributionError(
            _l(
                "the %(year)s wave is %(status)s: its contribution can leave once it is closed",
                year=wave.year,
                status=value_label(wave.status),
            )
        )
    agreement = current_agreement(session, wave_id)
    if agreement is None or agreement.level == SharingLevel.NONE:
        raise ContributionError(
            _l(
                "the %(year)s wave shares nothing: set a sharing level on the data-sharing page",
                year=wave.year,
            )
        )
    respondents = int(
        session.scalar(select(func.count(Response.id)).where(Response.wave_id == wave_id)) or 0
    )
    if respondents < wave.min_report_n:
        raise ContributionError(
            _l(
                "the %(year)s wave has %(n)s responses, fewer than its minimum of "
                "%(min_n)s: nothing can leave",
                year=wave.year,
                n=respondents,
                min_n=wave.min_report_n,
            )
        )
    invited = int(
        session.scalar(select(func.count(Invitation.id)).where(Invitation.wave_id == wave_id)) or 0
    )
    instrument = definition_of(wave.instrument)
    payload: dict[str, Any] = {
        "format": PAYLOAD_FORMAT,
        "jurisdiction": {"slug": jurisdiction.slug, "name": jurisdiction.name},
        "wave": {"year": wave.year, "invited": invited, "responses": respondents},
        "instrument": {"key": instrument.key, "version": instrument.version},
        "level": agreement.level.value,
        "agreement_reference": agreement.reference,
        "benchmark": benchmark_figures(session, wave),
    }
    if agreement.level.rank >= SharingLevel.PSYCHOMETRIC.rank:
        payload["statistics"] = _statistics(session, wave, instrument)
        # Per-language pair sums (issue 9's counters) for invariance across languages.
        payload["languages"] = background.language_sums(session, wave.id)
    return Preview(wave.id, agreement.level, payload, respondents, len(canonical(payload)))


def approve_contribution(session: Session, actor: User | None, wave_id: int) -> Contribution:
    """Approve what :func:`build_contribution` gives now: kept as it left, audited, commits.

    In this deployment the contribution also goes straight into the national store.
    """
    preview = build_contribution(session, actor, wave_id)
    wave = session.get(Wave, wave_id)
    assert wave is not None
    payload = dict(preview.payload)
    contribution = Contribution(
        jurisdiction_id=wave.jurisdiction_id,
        wave_id=wave.id,
        level=preview.level,
        digest="",
        payload={},
        approved_by=actor.email if actor is not None else audit.CLI_ACTOR,
    )
    session.add(contribution)
    session.flush()
    payload["id"] = contribution.id
    contribution.payload = payload
    contribution.digest = hashlib.sha256(canonical(payload)).hexdigest()
    _store(session, payload, key_fingerprint=None)
    audit.record(
        session,
        actor,
        "contribution.approve",
        f"wave {wave.year}",
        jurisdiction_id=wave.jurisdiction_id,
        contribution=contribution.id,
        level=preview.level.value,
        digest=contribution.digest,
        size_bytes=preview.size_bytes,
    )
    session.commit()
    return contribution


def list_contributions(session: Session, actor: User | None, wave_id: int) -> list[Contribution]:
    """What has left for this wave and when (its own administrators and the national office)."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(_l("no wave %(id)s", id=wave_id))
    if actor is not None:
        require(
            is_national(actor) or can_manage_jurisdiction(actor, wave.jurisdiction_id),
            _l("this wave's contributions"),
        )
    return list(
        session.scalars(
            select(Contribution)
            .where(Contribution.wave_id == wave_id)
            .order_by(Contribution.approved_at.desc())
        )
    )


# --------------------------------------------------------------------------- keys and files


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key_b64: str) -> str:
    """SHA-256 of the raw public key, hex: how a key is named in messages."""
    return hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()


def generate_key(path: Path) -> str:
    """Write a new Ed25519 private key (PEM, owner-only) to ``path``; return the public key.

    Refuses to overwrite a key: files signed with it could no longer be told apart.
    """
    if path.exists():
        raise ContributionError(f"{path} already exists: a jurisdiction keeps its key")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return _b64(_raw_public(key.public_key()))


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise ContributionError(f"cannot read the signing key {path}: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ContributionError(f"{path} is not an Ed25519 key")
    return key


def trust_key(session: Session, slug: str, public_key_b64: str) -> TrustedKey:
    """Register a jurisdiction's public key on the national instance (CLI; audited; commits)."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise ContributionError("not an Ed25519 public key (base64 of 32 bytes)") from None
    key_b64 = _b64(raw)
    existing = session.scalars(select(TrustedKey).where(TrustedKey.public_key == key_b64)).first()
    if existing is not None:
        raise ContributionError(f"this key is already registered for {existing.jurisdiction_slug}")
    row = TrustedKey(jurisdiction_slug=slug, public_key=key_b64, fingerprint=fingerprint(key_b64))
    session.add(row)
    audit.record(session, None, "national.trust_key", slug, fingerprint=row.fingerprint)
    session.commit()
    return row


def export_contribution(session: Session, wave_id: int, key_path: Path, out: Path) -> Contribution:
    """Write the wave's latest approved contribution to ``out``, signed (CLI; audited)."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(_l("no wave %(id)s", id=wave_id))
    contribution = session.scalars(
        select(Contribution)
        .where(Contribution.wave_id == wave_id)
        .order_by(Contribution.approved_at.desc(), Contribution.id)
        .limit(1)
    ).first()
    if contribution is None:
        raise ContributionError(
            f"no approved contribution for the {wave.year} wave: an administrator approves it "
            "on the contribution page first"
        )
    agreement = current_agreement(session, wave_id)
    if agreement is None or agreement.level.rank < contribution.level.rank:
        raise ContributionError(
            "the sharing level was lowered after approval: this contribution may not leave"
        )
    key = _load_private(key_path)
    signature = key.sign(canonical(contribution.payload))
    document = {
        "format": FILE_FORMAT,
        "payload": contribution.payload,
        "public_key": _b64(_raw_public(key.public_key())),
        "signature": _b64(signature),
    }
    out.write_text(json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n")
    contribution.exported_at = utcnow()
    audit.record(
        session,
        None,
        "contribution.export",
        f"wave {wave.year}",
        jurisdiction_id=wave.jurisdiction_id,
        contribution=contribution.id,
    )
    session.commit()
    return contribution


def _known_instrument(session: Session, key: str, version: str) -> surveys.Instrument | None:
    row = session.scalars(
        select(Instrument).where(Instrument.key == key, Instrument.version == version)
    ).first()
    if row is not None:
        return definition_of(row)
    return surveys.find_instrument(key, version)


def _check_payload(session: Session, payload: Any) -> dict[str, Any]:
    """The payload's shape and content; raises ImportRefused naming the first problem."""
    if not isinstance(payload, dict) or payload.get("format") != PAYLOAD_FORMAT:
        raise ImportRefused("refused: not a contribution (unknown payload format)")
    try:
        contribution_id = str(payload["id"])
        slug = str(payload["jurisdiction"]["slug"])
        str(payload["jurisdiction"]["name"])
        int(payload["wave"]["year"])
        key, version = str(payload["instrument"]["key"]), str(payload["instrument"]["version"])
        level = SharingLevel(payload["level"])
    except (KeyError, TypeError, ValueError) as error:
        raise ImportRefused(f"refused: the contribution lacks or garbles {error}") from None
    if not contribution_id or not slug:
        raise ImportRefused("refused: the contribution has no id or no jurisdiction")
    instrument = _known_instrument(session, key, version)
    if instrument is None:
        raise ImportRefused(
            f"refused: unknown instrument {key} version {version}; nothing imported"
        )
    allowed = {
        "format",
        "id",
        "jurisdiction",
        "wave",
        "instrument",
        "level",
        "agreement_reference",
        "benchmark",
        "statistics",
        "languages",
    }
    extra = sorted(set(payload) - allowed)
    if extra:
        raise ImportRefused(f"refused: unexpected content {', '.join(extra)}; nothing imported")
    if payload.get("benchmark"):
        _check_benchmark(payload, instrument)
    if "statistics" in payload:
        if level.rank < SharingLevel.PSYCHOMETRIC.rank:
            raise ImportRefused(
                f"refused: statistics in a contribution at level {level.value}; nothing imported"
            )
        try:
            stats = scoring.SufficientStatistics.from_dict(payload["statistics"])
        except (KeyError, TypeError, ValueError) as error:
            raise ImportRefused(f"refused: malformed statistics ({error})") from None
        scales = _scales(instrument)
        items = tuple(i for members in scales.values() for i in members)
        for group in stats.groups.values():
            if (
                group.instrument.items != items
                or {k: list(m.items) for k, m in group.scales.items()} != scales
            ):
                raise ImportRefused(
                    f"refused: the statistics do not match instrument {key} {version}"
                )
    if "languages" in payload:
        if "statistics" not in payload or not isinstance(payload["languages"], dict):
            raise ImportRefused("refused: language sums without statistics; nothing imported")
        for language, sums in payload["languages"].items():
            try:
                parsed = PairSums.from_dict(sums)
            except (KeyError, TypeError, ValueError) as error:
                raise ImportRefused(f"refused: malformed language sums ({error})") from None
            if language not in instrument.languages or parsed.items != instrument.item_keys:
                raise ImportRefused(
                    f"refused: language sums {language!r} do not match instrument {key} {version}"
                )
    return payload


def _refuse_figures(why: str) -> ImportRefused:
    return ImportRefused(f"refused: benchmark figures {why}; nothing imported")


def _check_benchmark(payload: dict[str, Any], instrument: surveys.Instrument) -> None:
    """Benchmark figures that only a publication could have shown, or ImportRefused.

    The national side has no rows to re-run the publication on; it checks what the figures
    say about themselves: a known section version, a minimum of at least 3, every figure of
    a known kind and scale, a percentage, and in an n band no smaller than that minimum; and
    no more units of one kind than the wave's responses could fill at the minimum each
    (units of one kind do not overlap). A file failing any of these describes units the
    publication would hide, or was not made by it.
    """
    section = payload["benchmark"]
    if not isinstance(section, dict) or section.get("format") != BENCHMARK_FORMAT:
        raise _refuse_figures("in an unknown format")
    if SharingLevel(payload["level"]).rank < SharingLevel.BENCHMARK.rank:
        raise _refuse_figures("in a contribution that shares nothing")
    extra = sorted(set(section) - {"format", "min_n", "units", "overall"})
    if extra:
        raise _refuse_figures(f"with unexpected content {', '.join(extra)}")
    min_n, units, overall = section.get("min_n"), section.get("units"), section.get("overall")
    if not isinstance(min_n, int) or isinstance(min_n, bool) or min_n < 3:
        raise _refuse_figures("with a minimum group size below 3")
    if not isinstance(units, dict) or not isinstance(overall, dict):
        raise _refuse_figures("without units or overall figures")
    scales = {s.key for s in instrument.scales}
    kinds = {k.value for k in UnitKind}
    try:
        responses = int(payload["wave"]["responses"])
    except (KeyError, TypeError, ValueError):
        raise _refuse_figures("without the wave's number of responses") from None

    def percentage(value: object) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and 0.0 <= value <= 100.0
        )

    for kind, by_scale in units.items():
        if kind not in kinds or not isinstance(by_scale, dict):
            raise _refuse_figures(f"for an unknown unit kind {kind!r}")
        for scale, figures in by_scale.items():
            if scale not in scales or not isinstance(figures, list):
                raise _refuse_figures(f"for scale {scale!r}, not in the instrument")
            for figure in figures:
                if (
                    not isinstance(figure, list)
                    or len(figure) != 2
                    or not percentage(figure[0])
                    or not isinstance(figure[1], int)
                ):
                    raise _refuse_figures(f"for {kind} {scale} are not percentages with n")
                if figure[1] < min_n:
                    raise _refuse_figures(
                        f"describe a {kind} below the minimum of {min_n} answers, which the "
                        "publication hides"
                    )
            if len(figures) * min_n > responses:
                raise _refuse_figures(
                    f"describe {len(figures)} {kind} units on {scale}: more than "
                    f"{responses} responses can fill at {min_n} each"
                )
    for scale, value in overall.items():
        if scale not in scales or not percentage(value):
            raise _refuse_figures(f"give an overall figure for {scale!r} that is not one")


def _store(session: Session, payload: dict[str, Any], *, key_fingerprint: str | None) -> None:
    session.add(
        ReceivedContribution(
            contribution_id=str(payload["id"]),
            jurisdiction_slug=str(payload["jurisdiction"]["slug"]),
            jurisdiction_name=str(payload["jurisdiction"]["name"]),
            year=int(payload["wave"]["year"]),
            instrument_key=str(payload["instrument"]["key"]),
            instrument_version=str(payload["instrument"]["version"]),
            level=SharingLevel(payload["level"]),
            key_fingerprint=key_fingerprint,
            payload=payload,
        )
    )


def _verified(session: Session, data: bytes) -> tuple[Any, TrustedKey]:
    """The payload of a signed file and the registered key that signed it, or ImportRefused."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(f"refused: the file is larger than {MAX_FILE_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ImportRefused(
            "refused: the file is not complete JSON (truncated or not a contribution)"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise ImportRefused("refused: not a signed contribution file")
    try:
        payload = document["payload"]
        public_b64 = str(document["public_key"])
        signature = base64.b64decode(str(document["signature"]), validate=True)
        raw_public = base64.b64decode(public_b64, validate=True)
    except (KeyError, binascii.Error, ValueError):
        raise ImportRefused("refused: the file has no readable signature or key") from None
    trusted = session.scalars(
        select(TrustedKey).where(TrustedKey.public_key == _b64(raw_public))
    ).first()
    if trusted is None:
        raise ImportRefused(
            f"refused: signed by an unknown key ({hashlib.sha256(raw_public).hexdigest()[:16]}); "
            "register it with 'flask national trust-key' first"
        )
    try:
        Ed25519PublicKey.from_public_bytes(raw_public).verify(signature, canonical(payload))
    except (InvalidSignature, ValueError, TypeError):
        raise ImportRefused(
            "refused: the signature does not match the content (the file was changed)"
        ) from None
    return payload, trusted


def import_contribution(session: Session, data: bytes) -> ReceivedContribution:
    """Verify a signed contribution file and load it into the national store (CLI; commits).

    Refuses, with one line and importing nothing: a file that is not complete JSON (truncated),
    signed by a key nobody registered, whose signature does not match (tampered), signed by
    another jurisdiction's key, already imported (replayed), for an unknown instrument version,
    or whose content does not fit its level and instrument (benchmark figures included: see
    :func:`_check_benchmark`).
    """
    payload, trusted = _verified(session, data)
    payload = _check_payload(session, payload)
    slug = str(payload["jurisdiction"]["slug"])
    if trusted.jurisdiction_slug != slug:
        raise ImportRefused(
            f"refused: the file speaks for {slug} but is signed with the key of "
            f"{trusted.jurisdiction_slug}"
        )
    seen = session.scalars(
        select(ReceivedContribution).where(
            ReceivedContribution.contribution_id == str(payload["id"])
        )
    ).first()
    if seen is not None:
        raise ImportRefused(
            f"refused: contribution {payload['id']} was already imported on "
            f"{seen.received_at:%Y-%m-%d} (replayed file)"
        )
    _store(session, payload, key_fingerprint=trusted.fingerprint)
    audit.record(
        session,
        None,
        "contribution.import",
        slug,
        contribution=str(payload["id"]),
        level=str(payload["level"]),
        year=int(payload["wave"]["year"]),
    )
    session.commit()
    received = session.scalars(
        select(ReceivedContribution).where(
            ReceivedContribution.contribution_id == str(payload["id"])
        )
    ).one()
    return received


def export_withdrawal(session: Session, wave_id: int, key_path: Path, out: Path) -> list[str]:
    """Write a signed notice that the wave's exported contributions above its level are withdrawn.

    For a national instance on another server, which cannot see this deployment's agreement:
    the notice names the contributions it withdraws (so that replaying an old notice can never
    withdraw a later contribution) and the level now in force. CLI; audited; commits. Returns
    the withdrawn contribution ids.
    """
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(_l("no wave %(id)s", id=wave_id))
    jurisdiction = session.get(Jurisdiction, wave.jurisdiction_id)
    assert jurisdiction is not None  # foreign key
    agreement = current_agreement(session, wave_id)
    level = agreement.level if agreement is not None else SharingLevel.NONE
    ids = [
        c.id
        for c in session.scalars(
            select(Contribution).where(
                Contribution.wave_id == wave_id, Contribution.exported_at.is_not(None)
            )
        )
        if c.level.rank > level.rank
    ]
    if not ids:
        raise ContributionError(
            f"no exported contribution of the {wave.year} wave is above its level "
            f"{level.value}: there is nothing to withdraw"
        )
    key = _load_private(key_path)
    payload = {
        "format": WITHDRAWAL_FORMAT,
        "id": str(uuid.uuid4()),
        "jurisdiction": {"slug": jurisdiction.slug, "name": jurisdiction.name},
        "wave": {"year": wave.year},
        "level": level.value,
        "withdraws": sorted(ids),
    }
    document = {
        "format": FILE_FORMAT,
        "payload": payload,
        "public_key": _b64(_raw_public(key.public_key())),
        "signature": _b64(key.sign(canonical(payload))),
    }
    out.write_text(json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n")
    audit.record(
        session,
        None,
        "contribution.export_withdrawal",
        f"wave {wave.year}",
        jurisdiction_id=wave.jurisdiction_id,
        level=level.value,
        contributions=len(ids),
    )
    session.commit()
    return sorted(ids)


def import_withdrawal(session: Session, data: bytes) -> list[ReceivedContribution]:
    """Verify a signed withdrawal notice and mark what it names withdrawn (CLI; commits).

    National outputs built afterwards leave those contributions out and say a jurisdiction
    withdrew. Refuses, with one line and changing nothing, what :func:`import_contribution`
    refuses, and a notice with nothing left to withdraw (already applied: replayed).
    """
    payload, trusted = _verified(session, data)
    if not isinstance(payload, dict) or payload.get("format") != WITHDRAWAL_FORMAT:
        raise ImportRefused("refused: not a withdrawal notice (unknown payload format)")
    try:
        slug = str(payload["jurisdiction"]["slug"])
        year = int(payload["wave"]["year"])
        level = SharingLevel(payload["level"])
        ids = [str(i) for i in payload["withdraws"]]
    except (KeyError, TypeError, ValueError) as error:
        raise ImportRefused(f"refused: the notice lacks or garbles {error}") from None
    if trusted.jurisdiction_slug != slug:
        raise ImportRefused(
            f"refused: the notice speaks for {slug} but is signed with the key of "
            f"{trusted.jurisdiction_slug}"
        )
    rows = list(
        session.scalars(
            select(ReceivedContribution).where(
                ReceivedContribution.contribution_id.in_(ids),
                ReceivedContribution.jurisdiction_slug == slug,
                ReceivedContribution.year == year,
                ReceivedContribution.withdrawn_at.is_(None),
            )
        )
    )
    rows = [r for r in rows if r.level.rank > level.rank]
    if not rows:
        raise ImportRefused(
            "refused: nothing to withdraw (already withdrawn: a replayed notice, or never "
            "imported here)"
        )
    now = utcnow()
    for row in rows:
        row.withdrawn_at = now
    audit.record(
        session,
        None,
        "contribution.import_withdrawal",
        slug,
        year=year,
        level=level.value,
        contributions=len(rows),
    )
    session.commit()
    return rows


def list_received(
    session: Session, *, include_withdrawn: bool = False
) -> list[ReceivedContribution]:
    """The national store: what national outputs may use (withdrawn ones left out by default)."""
    query = select(ReceivedContribution).order_by(
        ReceivedContribution.year, ReceivedContribution.jurisdiction_slug
    )
    if not include_withdrawn:
        query = query.where(ReceivedContribution.withdrawn_at.is_(None))
    return list(session.scalars(query))


def national_statistics(
    received: list[ReceivedContribution],
) -> scoring.SufficientStatistics | None:
    """The pooled statistics of received psychometric contributions (None when there is none)."""
    parts = [
        scoring.SufficientStatistics.from_dict(r.payload["statistics"])
        for r in received
        if "statistics" in r.payload
    ]
    return scoring.pool(parts) if parts else None
