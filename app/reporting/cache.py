"""A file cache of rendered PDFs keyed by wave, unit, scoring version and template version.

``TEMPLATE_VERSION`` is a fingerprint of everything that decides how a report looks
(templates, stylesheet, wording and its translations, formatting, chart and HTML-parsing
code), so editing any of them makes old PDFs miss the cache without anyone having to remember to
bump a number.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_LOOK_FILES = ("charts.py", "format.py", "markup.py", "pdf.py", "render.py", "strings.py")


def fingerprint(paths: Iterable[Path]) -> str:
    """A short hash of the files' names and contents (order-independent)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def _look_paths() -> list[Path]:
    found = [_PACKAGE / name for name in _LOOK_FILES]
    for folder in ("templates", "assets"):
        found.extend(p for p in (_PACKAGE / folder).rglob("*") if p.is_file())
    # The words of every language: a corrected translation must not be served from the cache.
    found.extend(sorted((_PACKAGE.parent / "translations").glob("*/LC_MESSAGES/*.po")))
    return [p for p in found if "__pycache__" not in p.parts]


#: Changes whenever a template, the stylesheet, the wording or the chart/format code changes.
TEMPLATE_VERSION: str = fingerprint(_look_paths())


@dataclass(frozen=True)
class ReportCacheKey:
    """What a cached PDF depends on.

    ``page_size`` and ``language`` are part of the key too: the same report in another paper
    size or language is a different file.
    """

    wave: str | int
    unit: str | int
    scoring_version: str
    template_version: str = TEMPLATE_VERSION
    page_size: str = "A4"
    language: str = "en"

    def filename(self) -> str:
        """``<wave>-<unit>-<hash of the rest>.pdf``; the hash keeps odd characters out of paths."""
        rest = "\0".join(
            (self.scoring_version, self.template_version, self.page_size, self.language)
        )
        tag = hashlib.sha256(rest.encode()).hexdigest()[:16]
        return f"{_safe(self.wave)}-{_safe(self.unit)}-{tag}.pdf"


def _safe(value: str | int) -> str:
    text = str(value)
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40]
    if cleaned != text:  # keep distinct values distinct after cleaning
        cleaned += "~" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return cleaned


def cached_pdf(directory: Path, key: ReportCacheKey, render: Callable[[], bytes]) -> bytes:
    """The cached PDF for ``key`` under ``directory``, or ``render()``'s, stored for next time.

    Written to a temporary file and renamed, so a concurrent reader never sees half a PDF
    and two workers rendering the same report both end with a complete file.
    """
    path = directory / key.filename()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    pdf = render()
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(pdf)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return pdf
