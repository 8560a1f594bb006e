"""The coordinator's home and the national psychometric report, as their users see them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Jurisdiction, Response, Role, User, Wave
from app.services import background, contributions, sharing
from tests.admin.conftest import make_user

from .conftest import seed_wave


def seed_languages(session: Session, wave: Wave, *, spanish: float, seed: int) -> None:
    """Hand the wave's answers to the mixer's per-language counters, as the mixer would."""
    rng = np.random.default_rng(seed)
    answers = session.scalars(select(Response.answers).where(Response.wave_id == wave.id)).all()
    entries = [
        {"language": "es" if rng.random() < spanish else "en", "items": dict(a)} for a in answers
    ]
    background.record_batch(session, wave.id, wave.jurisdiction_id, entries)
    session.commit()


def share(
    session: Session, slug: str, *, seed: int, spanish: float = 0.3
) -> tuple[Jurisdiction, Wave]:
    jurisdiction, wave = seed_wave(session, slug, teams=30, per_team=10, seed=seed)
    seed_languages(session, wave, spanish=spanish, seed=seed)
    sharing.set_level(session, None, wave.id, "psychometric", reference=f"DSA-{slug}")
    contributions.approve_contribution(session, None, wave.id)
    return jurisdiction, wave


@pytest.fixture
def two(session: Session) -> dict[str, tuple[Jurisdiction, Wave]]:
    return {"lake": share(session, "lake", seed=1), "hill": share(session, "hill", seed=2)}


@pytest.fixture
def national(session: Session) -> User:
    return make_user(session, "nat@x.org", Role.NATIONAL)


def test_home_lists_who_takes_part_at_which_level_with_rates_and_the_report(
    session: Session, two, national: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    _, sea_wave = seed_wave(session, "sea", teams=6, per_team=6, seed=3)
    sharing.set_level(session, None, sea_wave.id, "benchmark", reference="DSA-sea")
    page = signed_in(national).get("/national/").get_data(as_text=True)
    assert "The partnership in 2026" in page
    for name in ("Lake County", "Hill County", "Sea County"):
        assert name in page
    # Sea shares benchmarks but sent nothing: awaited, and no response rate without a contribution.
    assert "Contributions received: 2; awaited: 1." in page
    assert "only with a contribution" in page
    assert 'href="/national/report?year=2026"' in page
    assert 'href="/national/report.pdf?year=2026"' in page


def test_report_page_explains_and_lists_every_section(
    two, national: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    page = signed_in(national).get("/national/report").get_data(as_text=True)
    assert "National psychometric report 2026" in page
    for heading in (
        "What this means for the partnership",
        "Reliability: do the questions of a scale agree?",
        "Factor structure: which questions go together?",
        "Model fit: does the survey",
        "Comparability across jurisdictions",
        "Comparability of the English and Spanish versions",
        "Team differences",
        "Appendix: the numbers",
        "pingouin.cronbach_alpha",
    ):
        assert heading in page, heading
    assert "Lake County" in page and "Hill County" in page and "Nation" in page


def test_report_pdf_is_a_pdf_and_its_download_is_audited(
    session: Session, two, national: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    response = signed_in(national).get("/national/report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert session.scalars(
        select(AuditEvent).where(AuditEvent.action == "national.report_pdf")
    ).first()


def test_withdrawal_after_the_report_was_built_leaves_it_out_and_says_so(
    session: Session, two, national: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(national)
    before = client.get("/national/report").get_data(as_text=True)
    assert "withdrew" not in before
    assert '<th scope="row">Hill County</th><td>psychometric statistics</td>' in before
    _, hill_wave = two["hill"]
    sharing.set_level(session, None, hill_wave.id, "benchmark", reference="DSA-hill amended")
    after = client.get("/national/report").get_data(as_text=True)
    assert "Hill County withdrew its 2026 contribution on" in after
    assert '<th scope="row">Hill County</th>' not in after  # in no table any more
    home = client.get("/national/").get_data(as_text=True)
    assert "withdrawn" in home


def test_a_jurisdiction_admin_reads_its_own_report_only(
    session: Session, two, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, two["lake"][0])
    client = signed_in(admin)
    page = client.get("/national/self").get_data(as_text=True)
    assert "Psychometric report 2026: Lake County" in page
    assert "Hill County" not in page and ">Nation<" not in page
    assert client.get("/national/self.pdf").data.startswith(b"%PDF")
    assert client.get("/national/").status_code == 403
    assert client.get("/national/report").status_code == 403


def test_admin_without_contribution_is_told_what_to_do(
    session: Session, signed_in: Callable[[User], FlaskClient]
) -> None:
    jurisdiction, _ = seed_wave(session, "pond", teams=3, per_team=5)
    admin = make_user(session, "admin@pond.org", Role.JURISDICTION_ADMIN, jurisdiction)
    page = signed_in(admin).get("/national/self").get_data(as_text=True)
    assert "has not approved a contribution yet" in page


def test_others_get_403_and_a_bad_year_a_404(
    session: Session, two, national: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    leader = make_user(session, "lead@lake.org", Role.LEADER, two["lake"][0], ("Team 1",))
    client = signed_in(leader)
    for url in ("/national/", "/national/report", "/national/report.pdf", "/national/self"):
        assert client.get(url).status_code == 403, url
    assert signed_in(national).get("/national/self").status_code == 403
    assert signed_in(national).get("/national/report?year=abc").status_code == 404
    assert signed_in(national).get("/national/?year=99999").status_code == 404


def test_own_report_says_a_language_below_the_threshold_is_not_reported(
    session: Session, signed_in: Callable[[User], FlaskClient]
) -> None:
    jurisdiction, wave = share(session, "pond", seed=5, spanish=0.004)
    payload = contributions.list_contributions(session, None, wave.id)[0].payload
    assert set(payload["languages"]) == {"en"}  # the few Spanish answers never left
    admin = make_user(session, "admin@pond.org", Role.JURISDICTION_ADMIN, jurisdiction)
    page = signed_in(admin).get("/national/self").get_data(as_text=True)
    assert "Answers in Spanish are not reported: fewer than 5 people answered in it" in page
    assert "Comparability of the English and Spanish versions" in page
    assert "comparability across languages is not reported" in page


def test_the_report_built_in_advance_is_the_one_the_page_shows(
    app, two, national: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    from app.national import warm_report

    warm_report(app).join(timeout=300)
    cache = app.extensions["national_report_cache"]
    assert len(cache) == 1
    (built,) = cache.values()
    page = signed_in(national).get("/national/report").get_data(as_text=True)
    assert built.built_at.strftime("%Y-%m-%d %H:%M UTC") in page
    assert len(cache) == 1  # the page used it, it did not build another
