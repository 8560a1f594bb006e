"""WeasyPrint is imported on the first PDF, not when a web or worker process starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_KEYS, TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]

# What gunicorn does (``wsgi:app``), then what the first PDF does.
_PROBE = """
import sys
import wsgi
print("after start:", "weasyprint" in sys.modules)
from app.reporting import render_pdf
from app.reporting.sample import sample_team_context
assert render_pdf(sample_team_context()).startswith(b"%PDF")
print("after a PDF:", "weasyprint" in sys.modules)
"""


def test_starting_the_app_does_not_import_weasyprint_and_the_first_pdf_does(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'survey.sqlite3'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        # A web process holds the public keys only.
        **{k: v for k, v in TEST_KEYS.settings().items() if k.endswith("_PUBLIC_KEY_FILE")},
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["after start: False", "after a PDF: True"], done.stdout
