"""Reports kept under instance/ (the PDF cache, batch ZIPs) are readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from tests.reports.conftest import SmallJurisdiction, login, make_leader
from tests.reports.test_report_batches import _admin_client, _download, _request_zip


def _modes(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): oct(stat.S_IMODE(path.lstat().st_mode))
        for path in [folder, *folder.rglob("*")]
    }


def _owner_only(folder: Path) -> bool:
    return all(
        stat.S_IMODE(p.lstat().st_mode) == (0o700 if p.is_dir() else 0o600)
        for p in [folder, *folder.rglob("*")]
    )


def test_cached_report_pdfs_are_0600_in_0700_folders(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    team = small.units["Office A / Team 1"]
    assert client.get(f"/reports/{small.waves[2026]}/{team}.pdf").status_code == 200
    instance = Path(app.instance_path)
    cache = instance / "report-cache"
    assert list(cache.rglob("*.pdf")), "the PDF was not cached where the test looks"
    assert _owner_only(instance), _modes(instance)


def test_report_zips_are_0600_in_0700_folders(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    client = _admin_client(app, session, small)
    batch_url = _request_zip(client, small.waves[2026])
    _download(client, batch_url)
    instance = Path(app.instance_path)
    assert list(instance.rglob("*.zip")), "no ZIP under instance/"
    assert _owner_only(instance), _modes(instance)
