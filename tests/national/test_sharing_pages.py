"""Data-sharing agreements and contributions through the admin pages, as their users see them."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    Contribution,
    ReceivedContribution,
    Response,
    Role,
    SharingAgreement,
    User,
)
from app.services import contributions
from tests.admin.conftest import csrf_token, make_user

from .conftest import seed_wave


def _set(client: FlaskClient, wave_id: int, level: str, reference: str) -> str:
    page = client.get("/admin/sharing").get_data(as_text=True)
    response = client.post(
        f"/admin/sharing/{wave_id}",
        data={
            f"w{wave_id}-level": level,
            f"w{wave_id}-reference": reference,
            f"w{wave_id}-csrf_token": csrf_token(page),
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _list_lengths(value: object) -> list[int]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _list_lengths(v)] or [0]
    if isinstance(value, list):
        return [len(value)] + [n for v in value for n in _list_lengths(v)]
    return [0]


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def lake(session: Session):  # type: ignore[no-untyped-def]
    return seed_wave(session, "lake")


@pytest.fixture
def admin(session: Session, lake) -> User:  # type: ignore[no-untyped-def]
    return make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake[0])


def test_level_history_and_withdrawal_are_recorded_and_audited(
    session: Session, lake, admin: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    _, wave = lake
    client = signed_in(admin)
    page = _set(client, wave.id, "psychometric", "DSA-2026-014")
    assert "psychometric" in page and "DSA-2026-014" in page
    page = _set(client, wave.id, "benchmark", "DSA-2026-014 amendment 1")
    assert "withdrawal" in page  # the lowering is shown as such in the history
    rows = session.scalars(select(SharingAgreement).order_by(SharingAgreement.id)).all()
    assert [(r.level.value, r.set_by) for r in rows] == [
        ("psychometric", "admin@lake.org"),
        ("benchmark", "admin@lake.org"),
    ]
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("sharing.%")).order_by(AuditEvent.id)
    ).all()
    assert actions == ["sharing.set", "sharing.withdraw"]


def test_a_level_without_agreement_reference_is_refused_and_stores_nothing(
    session: Session, lake, admin: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    page = _set(signed_in(admin), lake[1].id, "psychometric", "   ")
    assert "say under which signed agreement" in page
    assert _count(session, SharingAgreement) == 0


def test_national_sees_levels_of_all_but_cannot_change_them(
    session: Session, lake, admin: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    _set(signed_in(admin), lake[1].id, "psychometric", "DSA-1")
    national = make_user(session, "nat@x.org", Role.NATIONAL)
    page = signed_in(national).get("/admin/sharing").get_data(as_text=True)
    assert "Lake County" in page and "psychometric" in page
    assert "Record</button>" not in page and "History" not in page


def test_preview_download_and_approve_at_psychometric_level_send_no_row(
    session: Session, lake, admin: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    _, wave = lake
    client = signed_in(admin)
    _set(client, wave.id, "psychometric", "DSA-1")
    page = client.get(f"/admin/contributions/{wave.id}").get_data(as_text=True)
    assert "108 responses are summarised" in page
    download = client.get(f"/admin/contributions/{wave.id}/preview.json")
    assert download.headers["Content-Disposition"].startswith("attachment")
    payload = json.loads(download.get_data(as_text=True))
    text = json.dumps(payload)
    # No row: no response id, no unit, and every group is at least the wave's minimum.
    for response_id in session.scalars(select(Response.id)):
        assert response_id not in text
    assert "Team " not in text
    # Nothing in it grows with the respondents: no list longer than the 36 items.
    assert max(_list_lengths(payload)) <= 36
    assert payload["statistics"]["groups"]["all"]["respondents"] == 108
    # Benchmark figures (also sent at this level) come from the publication: 12 shown teams.
    assert payload["benchmark"]["format"] == contributions.BENCHMARK_FORMAT
    assert {len(v) for v in payload["benchmark"]["units"]["team"].values()} == {12}
    # Approve: kept as it left, audited, in this deployment's national store.
    approve = client.post(
        f"/admin/contributions/{wave.id}/approve",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert "Contribution approved" in approve.get_data(as_text=True)
    stored = session.scalars(select(Contribution)).one()
    assert {k: v for k, v in stored.payload.items() if k != "id"} == payload
    assert session.scalars(select(ReceivedContribution)).one().payload == stored.payload
    assert session.scalar(select(func.count()).where(AuditEvent.action == "contribution.approve"))
    assert stored.digest[:16] in client.get(f"/admin/contributions/{wave.id}").get_data(
        as_text=True
    )


def test_benchmark_level_holds_no_statistics(
    session: Session, lake, admin: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(admin)
    _set(client, lake[1].id, "benchmark", "DSA-1")
    payload = client.get(f"/admin/contributions/{lake[1].id}/preview.json").get_json()
    assert "statistics" not in payload
    assert payload["benchmark"]["format"] == contributions.BENCHMARK_FORMAT
    assert payload["level"] == "benchmark"


def test_no_agreement_means_nothing_can_be_approved(
    session: Session, lake, admin: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(admin)
    page = client.get(f"/admin/contributions/{lake[1].id}").get_data(as_text=True)
    assert "shares nothing" in page
    client.post(f"/admin/contributions/{lake[1].id}/approve", data={"csrf_token": csrf_token(page)})
    assert _count(session, Contribution) == 0


def test_withdrawal_takes_the_contribution_out_of_the_national_store(
    session: Session, lake, admin: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    from app.services import contributions

    client = signed_in(admin)
    _set(client, lake[1].id, "psychometric", "DSA-1")
    page = client.get(f"/admin/contributions/{lake[1].id}").get_data(as_text=True)
    client.post(f"/admin/contributions/{lake[1].id}/approve", data={"csrf_token": csrf_token(page)})
    assert len(contributions.list_received(session)) == 1
    _set(client, lake[1].id, "benchmark", "DSA-1 withdrawn")
    assert contributions.list_received(session) == []
    assert len(contributions.list_received(session, include_withdrawn=True)) == 1


def test_another_jurisdictions_admin_cannot_see_the_preview(
    session: Session, lake, admin: User, signed_in: Callable[[User], FlaskClient]
) -> None:  # type: ignore[no-untyped-def]
    hill, _ = seed_wave(session, "hill", teams=2, per_team=5)
    other = make_user(session, "admin@hill.org", Role.JURISDICTION_ADMIN, hill)
    _set(signed_in(admin), lake[1].id, "psychometric", "DSA-1")
    response = signed_in(other).get(f"/admin/contributions/{lake[1].id}/preview.json")
    assert response.status_code == 403
