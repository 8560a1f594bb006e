"""The national psychometric report and the coordinator's home, from contributions only.

Nothing here reads a response row. The coordinator's report is computed from the national
store (:class:`app.models.ReceivedContribution`: contributions approved in this deployment or
imported from another one); a jurisdiction's own report from the contribution its
administrators approved. Withdrawn contributions are left out and the report names them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

import scoring
import surveys
from app.i18n import lazy_message as _l
from app.models import (
    Contribution,
    Instrument,
    Jurisdiction,
    ReceivedContribution,
    SharingLevel,
    TrustedKey,
    User,
    Wave,
    utcnow,
)
from app.reporting.national import (
    EfaSummary,
    FitRow,
    IccRow,
    Invariance,
    ItemTotal,
    LoadingRow,
    NationalReport,
    Participant,
    ScaleInvarianceRow,
    ScaleReliability,
    Step,
    Withdrawn,
)
from app.services import benchmarks
from app.services.access import can_manage_jurisdiction, is_national, require
from app.services.instruments import definition_of
from app.services.jurisdictions import NotFound
from app.services.sharing import list_sharing
from scoring.efa import correlation
from scoring.sufficient import (
    DELTA_CFI,
    PairSums,
    SufficientStatistics,
    pairwise_moments,
    pool_pair_sums,
    scale_invariance,
)

#: Fewest complete answer sets (every item answered) a CFA, EFA or invariance group needs.
FIT_MIN_N = 100
NATION = "Nation"
_STEPS = ("configural", "metric", "scalar")

ReportCache = MutableMapping[tuple[Any, ...], NationalReport]


@dataclass(frozen=True)
class _Part:
    """One contribution that enters the statistics."""

    name: str
    payload: dict[str, Any]
    stats: SufficientStatistics


# --------------------------------------------------------------------------- which contributions


@dataclass(frozen=True)
class Store:
    """The national store for one year: what is used, what was withdrawn, what else arrived."""

    year: int | None
    years: tuple[int, ...]
    included: tuple[ReceivedContribution, ...]
    withdrawn: tuple[ReceivedContribution, ...]


def read_store(session: Session, year: int | None = None) -> Store:
    """The latest contribution of each jurisdiction for ``year`` (default: the latest year).

    A jurisdiction whose latest contribution was withdrawn, with no later one, is withdrawn.
    """
    rows = list(
        session.scalars(
            select(ReceivedContribution).order_by(
                ReceivedContribution.received_at, ReceivedContribution.id
            )
        )
    )
    years = tuple(sorted({r.year for r in rows}, reverse=True))
    if year is None:
        year = years[0] if years else None
    latest: dict[str, ReceivedContribution] = {}
    withdrawn: dict[str, ReceivedContribution] = {}
    for row in rows:
        if row.year != year:
            continue
        if row.withdrawn_at is None:
            latest[row.jurisdiction_slug] = row
        else:
            withdrawn[row.jurisdiction_slug] = row
    return Store(
        year=year,
        years=years,
        included=tuple(latest[k] for k in sorted(latest)),
        withdrawn=tuple(withdrawn[k] for k in sorted(withdrawn) if k not in latest),
    )


def _rate(payload: dict[str, Any]) -> tuple[int | None, int | None, float | None]:
    wave = payload.get("wave") or {}
    invited, responses = wave.get("invited"), wave.get("responses")
    if not isinstance(invited, int) or not isinstance(responses, int):
        return None, None, None
    return invited, responses, (responses / invited if invited > 0 else None)


def _instrument_of(
    session: Session, payloads: Sequence[dict[str, Any]]
) -> surveys.Instrument | None:
    """The instrument most contributions used (a report covers one instrument version).

    Looked up in this deployment's instruments first, then in the definitions shipped with it.
    """
    versions = Counter(
        (str(p["instrument"]["key"]), str(p["instrument"]["version"]))
        for p in payloads
        if "statistics" in p
    )
    if not versions:
        return None
    (key, version), _ = max(versions.items(), key=lambda kv: (kv[1], kv[0]))
    row = session.scalars(
        select(Instrument).where(Instrument.key == key, Instrument.version == version)
    ).first()
    if row is not None:
        return definition_of(row)
    return surveys.find_instrument(key, version)


# --------------------------------------------------------------------------- statistics


def _text(value: Any, language: str) -> str:
    if isinstance(value, str):
        return value
    return str(value.get(language) or value.get("en") or next(iter(value.values()), ""))


def _fit_row(group: str, fit: Any) -> FitRow:
    def finite(value: float) -> float | None:
        return float(value) if np.isfinite(value) else None

    if not fit.converged:
        verdict = "failed"
    elif fit.cfi >= 0.95 and fit.rmsea <= 0.06 and fit.srmr <= 0.08:
        verdict = "good"
    elif fit.cfi >= 0.90 and fit.rmsea <= 0.08 and fit.srmr <= 0.10:
        verdict = "acceptable"
    else:
        verdict = "poor"
    ci = fit.rmsea_ci
    return FitRow(
        group=group,
        n=int(fit.n),
        chi2=finite(fit.chi2),
        df=int(fit.df),
        pvalue=finite(fit.pvalue),
        cfi=finite(fit.cfi),
        tli=finite(fit.tli),
        rmsea=finite(fit.rmsea),
        rmsea_ci=(float(ci[0]), float(ci[1])) if np.all(np.isfinite(ci)) else None,
        srmr=finite(fit.srmr),
        verdict=verdict,
    )


def _kmo_words(value: float | None) -> str:
    if value is None:
        return "unacceptable"
    for bound, words in (
        (0.9, "marvellous"),
        (0.8, "meritorious"),
        (0.7, "middling"),
        (0.6, "mediocre"),
        (0.5, "miserable"),
    ):
        if value >= bound:
            return words
    return "unacceptable"


def _reliability(
    group: str, stats: scoring.GroupStatistics, instrument: surveys.Instrument, language: str
) -> list[ScaleReliability]:
    texts = {i.key: _text(i.text, language) for s in instrument.scales for i in s.items}
    out = []
    for scale in instrument.scales:
        rel = scoring.reliability_from_moments(stats.scales[scale.key])
        alpha = rel.alpha
        flag = "" if alpha is None else "red" if alpha < 0.60 else "amber" if alpha < 0.70 else ""
        items = tuple(
            ItemTotal(
                item=key,
                text=texts.get(key, key),
                r_drop=r,
                alpha_if_deleted=rel.alpha_if_deleted.get(key),
                low=r < 0.30,
            )
            for key, r in rel.item_total.items()
        )
        out.append(
            ScaleReliability(
                group=group,
                scale=_text(scale.title, language),
                status=rel.status,
                n=rel.n_complete,
                alpha=alpha,
                alpha_ci=rel.alpha_ci,
                omega=rel.omega_total,
                items=items,
                flag=flag,
            )
        )
    return out


def _icc(
    group: str, anova: dict[str, scoring.AnovaSums], instrument: surveys.Instrument, language: str
) -> list[IccRow]:
    out = []
    for scale in instrument.scales:
        sums = anova.get(scale.key)
        if sums is None:
            continue
        icc = scoring.icc_from_sums(sums)
        out.append(
            IccRow(
                group=group,
                scale=_text(scale.title, language),
                units=sums.units,
                n=sums.n,
                icc1=icc.icc1,
                icc2=icc.icc2,
                unreliable=icc.icc2 is None or icc.icc2 < 0.60,
            )
        )
    return out


def _efa(
    moments: scoring.Moments, instrument: surveys.Instrument, language: str
) -> tuple[EfaSummary | None, str]:
    p = len(moments.items)
    if moments.n < max(FIT_MIN_N, p + 1):
        return None, "too_few"
    try:
        result = scoring.efa(correlation(moments.covariance()), moments.n, moments.items)
    except ValueError as error:
        return None, str(error)
    scale_of = {i.key: _text(s.title, language) for s in instrument.scales for i in s.items}
    texts = {i.key: _text(i.text, language) for s in instrument.scales for i in s.items}
    rows = tuple(
        LoadingRow(
            item=texts.get(item, item),
            scale=scale_of.get(item, ""),
            loadings=values,
            main=int(np.argmax(np.abs(values))),
        )
        for item, values in result.loadings.items()
    )
    shown = min(len(result.eigenvalues), max(result.n_factors + 2, len(instrument.scales) + 1))
    return (
        EfaSummary(
            n=result.n,
            kmo=result.kmo,
            kmo_words=_kmo_words(result.kmo),
            bartlett_chi2=result.bartlett_chi2,
            bartlett_df=result.bartlett_df,
            bartlett_p=result.bartlett_p,
            eigenvalues=tuple(
                zip(result.eigenvalues[:shown], result.random_eigenvalues[:shown], strict=True)
            ),
            n_factors=result.n_factors,
            n_scales=len(instrument.scales),
            rotation=result.rotation,
            loadings=rows,
            warnings=result.warnings,
        ),
        "",
    )


def _invariance(
    across: str,
    groups: Sequence[tuple[str, int, Any, Any]],
    instrument: surveys.Instrument,
    language: str,
) -> Invariance:
    names = tuple(g[0] for g in groups)
    if len(groups) < 2:
        return Invariance(across, names, (), None, (), unavailable="fewer_than_two")
    items = list(instrument.item_keys)
    scales = {s.key: list(s.item_keys) for s in instrument.scales}
    moments = [(n, mean, cov) for _, n, mean, cov in groups]
    fits = scoring.invariance_from_moments(moments, items, scales)
    rows = {step: _fit_row(step, fits[step]) for step in _STEPS}
    steps: list[Step] = []
    reached: str | None = None
    previous: FitRow | None = None
    still = True
    for step in _STEPS:
        row = rows[step]
        if previous is None:
            holds: bool | None = row.verdict != "failed"
            delta = None
        elif previous.cfi is None or row.cfi is None:
            holds, delta = None, None
        else:
            delta = previous.cfi - row.cfi
            holds = delta <= DELTA_CFI + 1e-12
        if holds and still:
            reached = step
        else:
            still = False
        steps.append(Step(step, row, delta, holds))
        previous = row
    titles = {s.key: _text(s.title, language) for s in instrument.scales}
    texts = {i.key: _text(i.text, language) for s in instrument.scales for i in s.items}
    per_scale = tuple(
        ScaleInvarianceRow(
            scale=titles[result.scale],
            cfi=(result.cfi["configural"], result.cfi["metric"], result.cfi["scalar"]),
            broken=result.broken,
            items=tuple(texts[i] for i in result.items),
        )
        for result in scale_invariance(moments, items, scales)
    )
    return Invariance(across, names, tuple(steps), reached, per_scale)


def _language_invariance(
    parts: Sequence[_Part], instrument: surveys.Instrument, language: str, min_n: int
) -> tuple[Invariance | None, tuple[str, ...]]:
    """Invariance between the instrument's languages from the pooled per-language pair sums."""
    pooled: dict[str, PairSums] = {}
    for code in instrument.languages:
        found = [
            PairSums.from_dict(p.payload["languages"][code])
            for p in parts
            if code in (p.payload.get("languages") or {})
        ]
        if found:
            pooled[code] = pool_pair_sums(found)
    if len(instrument.languages) < 2:
        return None, ()
    if not any("languages" in p.payload for p in parts):
        # Contributions from an instance that does not yet send per-language sums.
        unavailable = Invariance("languages", (), (), None, (), unavailable="no_sums")
        return unavailable, ()
    notes = tuple(f"below:{code}" for code in instrument.languages if code not in pooled)
    reverse = {
        i.key: s.response_scale.points for s in instrument.scales for i in s.items if i.reverse
    }
    groups = []
    for code in instrument.languages:
        if code not in pooled:
            continue
        try:
            n, mean, cov = pairwise_moments(pooled[code], reverse)
        except ValueError:
            notes = (*notes, f"sparse:{code}")
            continue
        if n < FIT_MIN_N:
            notes = (*notes, f"few:{code}")
            continue
        groups.append((code, n, mean, cov))
    if len(groups) < 2:
        names = tuple(g[0] for g in groups)
        return Invariance("languages", names, (), None, (), unavailable="fewer_than_two"), notes
    return _invariance("languages", groups, instrument, language), notes


def compute_report(
    parts: Sequence[tuple[str, dict[str, Any]]],
    instrument: surveys.Instrument,
    *,
    scope: str,
    language: str = "en",
    min_report_n: int = 5,
) -> dict[str, Any]:
    """Every statistic of the report from ``(jurisdiction name, payload)`` pairs.

    Returns the keyword arguments of :class:`NationalReport` that hold statistics. With scope
    "nation" the nation (pooled exactly from the parts) comes first, then each jurisdiction; with
    scope "jurisdiction" there is one part and no nation.
    """
    # The models are small (36 × 36): a multi-threaded BLAS spends more time handing work
    # between threads, on a machine where other processes want the cores, than it saves.
    with threadpool_limits(limits=1, user_api="blas"):
        return _compute(
            parts, instrument, scope=scope, language=language, min_report_n=min_report_n
        )


def _compute(
    parts: Sequence[tuple[str, dict[str, Any]]],
    instrument: surveys.Instrument,
    *,
    scope: str,
    language: str,
    min_report_n: int,
) -> dict[str, Any]:
    used = [
        _Part(name, payload, SufficientStatistics.from_dict(payload["statistics"]))
        for name, payload in parts
    ]
    groups: list[tuple[str, SufficientStatistics]] = [(p.name, p.stats) for p in used]
    if scope == "nation":
        groups.insert(0, (NATION, scoring.pool([p.stats for p in used])))
    reliability: list[ScaleReliability] = []
    icc: list[IccRow] = []
    cfa: list[FitRow] = []
    scales = {s.key: list(s.item_keys) for s in instrument.scales}
    combined = {name: stats.combined() for name, stats in groups}
    for name, stats in groups:
        reliability.extend(_reliability(name, combined[name], instrument, language))
        icc.extend(_icc(name, dict(stats.anova), instrument, language))
        m = combined[name].instrument
        if m.n >= max(FIT_MIN_N, len(m.items) + 1):
            fit = scoring.cfa_fit_from_moments(m.n, m.covariance(ddof=0), m.items, scales)
            cfa.append(_fit_row(name, fit))
    top = groups[0][0]
    efa, efa_unavailable = _efa(combined[top].instrument, instrument, language)
    invariance: list[Invariance] = []
    if scope == "nation":
        jurisdiction_groups = [
            (p.name, m.n, m.mean, m.covariance(ddof=0))
            for p in used
            if (m := combined[p.name].instrument).n >= max(FIT_MIN_N, len(m.items) + 1)
        ]
        invariance.append(_invariance("jurisdictions", jurisdiction_groups, instrument, language))
    by_language, notes = _language_invariance(used, instrument, language, min_report_n)
    if by_language is not None:
        invariance.append(by_language)
    first = {r.group for r in reliability}
    summary_group = top if top in first else ""
    return {
        "reliability": tuple(reliability),
        "icc": tuple(icc),
        "efa": efa,
        "efa_unavailable": efa_unavailable,
        "cfa": tuple(cfa),
        "invariance": tuple(invariance),
        "language_notes": notes,
        "scales_weak": tuple(
            r.scale
            for r in reliability
            if r.group == summary_group and r.status != "insufficient" and r.flag
        ),
        "items_low": tuple(
            i.text
            for r in reliability
            if r.group == summary_group and r.status != "insufficient"
            for i in r.items
            if i.low
        ),
        "icc_unreliable": tuple(r.scale for r in icc if r.group == summary_group and r.unreliable),
    }


def _cached(cache: ReportCache | None, key: tuple[Any, ...], build: Any) -> NationalReport:
    if cache is None:
        report: NationalReport = build()
        return report
    if key not in cache:
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = build()
    return cache[key]


# --------------------------------------------------------------------------- the two reports


def build_national_report(
    session: Session,
    actor: User | None,
    *,
    year: int | None = None,
    language: str = "en",
    min_report_n: int = 5,
    cache: ReportCache | None = None,
) -> NationalReport:
    """The coordinator's report for ``year`` from the national store (national office only).

    Built afresh whenever the set of usable contributions changes (a new one, a withdrawal):
    the cache is keyed by exactly that set.
    """
    if actor is not None:
        require(is_national(actor), _l("the national psychometric report"))
    store = read_store(session, year)
    if store.year is None:
        return NationalReport(
            scope="nation",
            title="",
            year=0,
            language=language,
            instrument="",
            built_at=utcnow(),
            min_report_n=min_report_n,
            participants=(),
            withdrawn=(),
            empty_reason="no_contribution",
        )
    key = (
        "nation",
        store.year,
        language,
        min_report_n,
        tuple(r.contribution_id for r in store.included),
        tuple(r.contribution_id for r in store.withdrawn),
    )
    return _cached(cache, key, lambda: _national(session, store, language, min_report_n))


def _national(session: Session, store: Store, language: str, min_report_n: int) -> NationalReport:
    assert store.year is not None
    payloads = [r.payload for r in store.included]
    instrument = _instrument_of(session, payloads)
    participants: list[Participant] = []
    parts: list[tuple[str, dict[str, Any]]] = []
    for row in store.included:
        invited, responses, rate = _rate(row.payload)
        psychometric = row.level.rank >= SharingLevel.PSYCHOMETRIC.rank
        same = instrument is not None and (
            row.instrument_key == instrument.key and row.instrument_version == instrument.version
        )
        usable = psychometric and "statistics" in row.payload and same
        note = "" if usable else ("benchmark_only" if not psychometric else "other_instrument")
        participants.append(
            Participant(
                row.jurisdiction_name, row.level.value, invited, responses, rate, usable, note
            )
        )
        if usable:
            parts.append((row.jurisdiction_name, row.payload))
    withdrawn = tuple(
        Withdrawn(r.jurisdiction_name, r.year, r.withdrawn_at)
        for r in store.withdrawn
        if r.withdrawn_at is not None
    )
    base: dict[str, Any] = {
        "scope": "nation",
        "title": "",
        "year": store.year,
        "language": language,
        "instrument": f"{instrument.key} {instrument.version}" if instrument else "",
        "built_at": utcnow(),
        "min_report_n": min_report_n,
        "participants": tuple(participants),
        "withdrawn": withdrawn,
    }
    if instrument is None or not parts:
        return NationalReport(**base, empty_reason="no_psychometric")
    stats = compute_report(
        parts, instrument, scope="nation", language=language, min_report_n=min_report_n
    )
    return NationalReport(**base, **stats)


def own_contribution(session: Session, actor: User, year: int | None = None) -> Contribution | None:
    """The latest approved contribution of the actor's jurisdiction (for ``year``, or latest)."""
    if actor.jurisdiction_id is None:
        return None
    query = (
        select(Contribution)
        .join(Wave, Contribution.wave_id == Wave.id)
        .where(Contribution.jurisdiction_id == actor.jurisdiction_id)
        .order_by(Wave.year.desc(), Contribution.approved_at.desc(), Contribution.id.desc())
    )
    if year is not None:
        query = query.where(Wave.year == year)
    return session.scalars(query.limit(1)).first()


def build_own_report(
    session: Session,
    actor: User,
    *,
    year: int | None = None,
    language: str = "en",
    min_report_n: int = 5,
    cache: ReportCache | None = None,
) -> NationalReport:
    """A jurisdiction's report about itself, from the contribution its administrators approved."""
    require(
        actor.jurisdiction_id is not None and can_manage_jurisdiction(actor, actor.jurisdiction_id),
        _l("your jurisdiction's psychometric report"),
    )
    jurisdiction = session.get(Jurisdiction, actor.jurisdiction_id)
    if jurisdiction is None:
        raise NotFound(_l("no jurisdiction"))
    contribution = own_contribution(session, actor, year)
    if contribution is None:
        return NationalReport(
            scope="jurisdiction",
            title=jurisdiction.name,
            year=year or 0,
            language=language,
            instrument="",
            built_at=utcnow(),
            min_report_n=min_report_n,
            participants=(),
            withdrawn=(),
            empty_reason="no_own_contribution",
        )
    key = ("own", contribution.id, language, min_report_n)
    return _cached(
        cache,
        key,
        lambda: _own(session, jurisdiction.name, contribution, language, min_report_n),
    )


def _own(
    session: Session, name: str, contribution: Contribution, language: str, min_report_n: int
) -> NationalReport:
    payload = contribution.payload
    invited, responses, rate = _rate(payload)
    instrument = _instrument_of(session, [payload])
    usable = instrument is not None
    base: dict[str, Any] = {
        "scope": "jurisdiction",
        "title": name,
        "year": int(payload["wave"]["year"]),
        "language": language,
        "instrument": f"{instrument.key} {instrument.version}" if instrument else "",
        "built_at": utcnow(),
        "min_report_n": min_report_n,
        "participants": (
            Participant(
                name,
                contribution.level.value,
                invited,
                responses,
                rate,
                usable,
                "" if usable else "benchmark_only",
            ),
        ),
        "withdrawn": (),
    }
    if instrument is None:
        return NationalReport(**base, empty_reason="no_psychometric")
    stats = compute_report(
        [(name, payload)],
        instrument,
        scope="jurisdiction",
        language=language,
        min_report_n=min_report_n,
    )
    return NationalReport(**base, **stats)


# --------------------------------------------------------------------------- the coordinator's home


@dataclass(frozen=True)
class HomeRow:
    """A jurisdiction on the coordinator's home for the year."""

    name: str
    level: str
    #: "received", "pending" (shares, nothing received yet), "withdrawn" or "none".
    status: str
    invited: int | None
    responses: int | None
    rate: float | None
    received_at: Any = None


@dataclass(frozen=True)
class NationalHome:
    year: int | None
    years: tuple[int, ...]
    rows: tuple[HomeRow, ...]
    received: int
    pending: int
    psychometric: int
    #: The year's national benchmarks over every sharing jurisdiction (None: none allowed yet).
    benchmarks: Any = None


def national_home(session: Session, actor: User | None, year: int | None = None) -> NationalHome:
    """Who takes part in ``year`` (default: the latest with contributions) at which level, what
    arrived and what is awaited. Response rates only from contributions (their consent)."""
    if actor is not None:
        require(is_national(actor), _l("the national home"))
    local = list_sharing(session, actor)
    store_years = read_store(session).years
    years = tuple(sorted({*store_years, *(w.year for w in local)}, reverse=True))
    if year is None:
        # The latest year something arrived for (contributions follow a wave's close), else
        # the latest wave's.
        year = store_years[0] if store_years else (years[0] if years else None)
    store = read_store(session, year) if year is not None else Store(None, years, (), ())
    rows: dict[str, HomeRow] = {}
    for received in store.included:
        invited, responses, rate = _rate(received.payload)
        rows[received.jurisdiction_name] = HomeRow(
            received.jurisdiction_name,
            received.level.value,
            "received",
            invited,
            responses,
            rate,
            received.received_at,
        )
    for gone in store.withdrawn:
        rows.setdefault(
            gone.jurisdiction_name,
            HomeRow(gone.jurisdiction_name, SharingLevel.NONE.value, "withdrawn", None, None, None),
        )
    for wave in local:
        if wave.year != year or wave.jurisdiction_name in rows:
            continue
        status = "pending" if wave.level != SharingLevel.NONE else "none"
        rows[wave.jurisdiction_name] = HomeRow(
            wave.jurisdiction_name, wave.level.value, status, None, None, None
        )
    known = {r.jurisdiction_slug for r in store.included} | {
        r.jurisdiction_slug for r in store.withdrawn
    }
    local_slugs = {
        slug
        for (slug,) in session.execute(
            select(Jurisdiction.slug).join(Wave, Wave.jurisdiction_id == Jurisdiction.id)
        )
    }
    for slug in sorted(
        {k.jurisdiction_slug for k in session.scalars(select(TrustedKey))} - known - local_slugs
    ):
        # A jurisdiction on its own instance whose key is registered: its file is awaited.
        rows[slug] = HomeRow(slug, "", "pending", None, None, None)
    ordered = tuple(rows[k] for k in sorted(rows))
    return NationalHome(
        year=year,
        years=years,
        rows=ordered,
        received=sum(r.status == "received" for r in ordered),
        pending=sum(r.status == "pending" for r in ordered),
        psychometric=sum(
            r.level.rank >= SharingLevel.PSYCHOMETRIC.rank and "statistics" in r.payload
            for r in store.included
        ),
        benchmarks=(
            benchmarks.national_benchmarks(session, year=year) if year is not None else None
        ),
    )
