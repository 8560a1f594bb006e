"""The WeasyPrint side of rendering: the locked-down fetcher and the report's HTML document.

Imported only when a PDF is made (by :mod:`app.reporting.render` and
:mod:`app.reporting.national`), never when the app starts: WeasyPrint and its font and CSS
machinery take about half a second to import, which every web and worker process would
otherwise pay at start whether or not it ever renders a report.
"""

from __future__ import annotations

import mimetypes
import re
from importlib.resources import files
from pathlib import Path

import cssselect2
import weasyprint.css
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from app.reporting import markup
from app.reporting.render import ASSET_SCHEME, ASSETS_DIR, DisallowedURLError

_ASSET_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".ttf": "font/ttf"}


class AssetFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """Serves ``report-asset:<name>`` from the package's assets folder and refuses every other URL.

    Built with ``fail_on_errors=True``: a refused URL stops the rendering instead of being
    skipped with a log line.
    """

    def __init__(self, assets_dir: Path = ASSETS_DIR) -> None:
        super().__init__(fail_on_errors=True, allow_redirects=False, allowed_protocols=())
        self._assets_dir = assets_dir.resolve()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if not url.startswith(ASSET_SCHEME):
            raise DisallowedURLError(f"reports may only load their own assets, not {url[:80]!r}")
        name = url.removeprefix(ASSET_SCHEME)
        path = (self._assets_dir / name).resolve()
        if path.parent != self._assets_dir or not path.is_file():
            raise DisallowedURLError(f"no such report asset: {name[:80]!r}")
        content_type = _ASSET_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
        return URLFetcherResponse(
            url, path.read_bytes(), {"Content-Type": content_type or "application/octet-stream"}
        )


#: Universal pseudo-element rules of WeasyPrint's user-agent stylesheet that reports never use.
_UNUSED_UA_RULES = re.compile(r"^::(?:footnote|note)-[\w-]+ \{[^}\n]*\}\n", re.M)


def _report_ua_stylesheet() -> CSS | None:
    """WeasyPrint's HTML user-agent stylesheet without its universal pseudo-element rules.

    The stock sheet gives *every* element ``::footnote-call``, ``::footnote-marker``,
    ``::note-call``, ``::note-marker``, ``::note-callback`` and ``::marker`` styles, so
    WeasyPrint computes six extra styles per element (about 6,000 for a team report; ~15% of
    its CPU time). Reports have no footnotes or notes, and only ``li`` elements are list items,
    so dropping those rules and scoping ``::marker`` to ``li`` changes no output. ``None`` if
    the installed WeasyPrint's sheet does not look as expected: then the stock sheet is used.
    """
    stock = (files(weasyprint.css) / "html5_ua.css").read_text("utf-8")
    trimmed, removed = _UNUSED_UA_RULES.subn("", stock)
    trimmed, scoped = re.subn(r"^::marker \{", "li::marker {", trimmed, flags=re.M)
    if removed != 5 or scoped != 1:
        return None
    return CSS(string=trimmed)


class _ReportHTML(HTML):  # type: ignore[misc]  # WeasyPrint ships no type hints
    """A report's HTML document: parsed with :mod:`app.reporting.markup` when it can build the
    same tree as WeasyPrint's HTML5 parser (else by WeasyPrint), laid out with
    :func:`_report_ua_stylesheet` (parsed once per process, when this module is imported)."""

    ua_stylesheet: CSS | None = None

    def __init__(self, string: str, url_fetcher: URLFetcher | None = None) -> None:
        try:
            root = markup.parse(string)
        except markup.UnsupportedMarkup:
            super().__init__(string=string, url_fetcher=url_fetcher)
            return
        # What HTML.__init__ sets for a string without a base URL (our markup has no <base>).
        self.base_url = None
        self.url_fetcher = url_fetcher or URLFetcher()
        self.media_type = "print"
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
        self.etree_element = self.wrapper_element.etree_element

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        stock: list[CSS] = super()._ua_stylesheets(forms)
        if self.ua_stylesheet is None or forms:
            return stock
        return [self.ua_stylesheet]


_ReportHTML.ua_stylesheet = _report_ua_stylesheet()
