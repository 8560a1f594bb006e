"""The rendering shortcuts change nothing a reader sees.

The report renderer parses its own HTML with :mod:`app.reporting.markup`, trims WeasyPrint's
user-agent stylesheet and reuses fonts and stylesheets across reports. Each PDF it makes is
compared here with the PDF stock WeasyPrint makes from the same HTML and stylesheet (HTML5
parser, full user-agent stylesheet, fresh font configuration): same pages, same text.
"""

from __future__ import annotations

import io
from xml.etree import ElementTree

import pytest
import tinyhtml5
from pypdf import PdfReader
from weasyprint import CSS, HTML

from app.reporting import ReportContext, markup, render_pdf
from app.reporting.pdf import AssetFetcher, _ReportHTML
from app.reporting.render import ReportRenderer, _page_size_css, asset_url
from app.reporting.sample import sample_team_context, sample_unit_context

SAMPLES = {
    "team A4": sample_team_context(1),
    "team Letter": sample_team_context(3, page_size="Letter"),
    "team without national benchmarks": sample_team_context(7, national_published=False),
    "team with few responses": sample_team_context(2),
    "office": sample_unit_context(2),
    "office Letter without national benchmarks": sample_unit_context(
        5, page_size="Letter", national_published=False
    ),
}


def _difference(a: ElementTree.Element, b: ElementTree.Element, path: str = "html") -> str | None:
    """Where two trees differ in tag, attributes, text or tail, or None if they are the same."""
    if a.tag != b.tag or a.attrib != b.attrib:
        return f"{path}: <{a.tag} {a.attrib}> vs <{b.tag} {b.attrib}>"
    if (a.text or "") != (b.text or "") or (a.tail or "") != (b.tail or ""):
        return f"{path}: text {a.text!r}/{a.tail!r} vs {b.text!r}/{b.tail!r}"
    if len(a) != len(b):
        return f"{path}: {[c.tag for c in a]} vs {[c.tag for c in b]}"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        found = _difference(x, y, f"{path}/{x.tag}[{i}]")
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def renderer() -> ReportRenderer:
    return ReportRenderer()


@pytest.mark.parametrize("name", SAMPLES)
def test_fast_parser_builds_the_html5_parsers_tree_of_each_sample_report(
    renderer: ReportRenderer, name: str
) -> None:
    html = renderer._html(SAMPLES[name], link_stylesheet=False)
    expected = tinyhtml5.parse(html, namespace_html_elements=False)
    assert _difference(markup.parse(html), expected) is None


PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head><title>T</title></head>\n<body>{}</body>\n</html>\n'
)


@pytest.mark.parametrize(
    "body",
    [
        "<p>one<div>two</div></p>",  # a div closes the paragraph
        "<table><tr><td>1</td></tr></table>",  # the HTML5 parser adds a tbody
        "<table><tbody>stray<tr><td>1</td></tr></tbody></table>",  # text moved out
        "<ul><li>one<li>two</ul>",  # list items closed implicitly
        "<div><span>open</div>",  # a missing end tag
        "<p>a</p></p>",  # a stray end tag
        "<!-- note --><p>a</p>",
        "<p>x</p><img src='x' alt=''>",  # an element outside the list
        "<pre>\nfirst line</pre>",  # the HTML5 parser drops the first newline
        "<p>a\r\nb</p>",
        '<p><a href="?x=1&notify=2">link</a> &copy 2026</p>',  # references without ";"
    ],
)
def test_markup_the_fast_parser_cannot_vouch_for_goes_to_the_html5_parser(body: str) -> None:
    html = PAGE.format(body)
    with pytest.raises(markup.UnsupportedMarkup):
        markup.parse(html)
    document = _ReportHTML(string=html, url_fetcher=AssetFetcher())
    expected = tinyhtml5.parse(html, namespace_html_elements=False)
    assert _difference(document.etree_element, expected) is None


def test_fast_parser_decodes_references_and_keeps_svg_names_as_html5_does() -> None:
    html = PAGE.format(
        '<p title="a &amp; b">x &lt; y &#8212; z&nbsp;</p>'
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4" role="img" aria-label="a">'
        '<title>a &quot;b&quot;</title><rect x="0" y="0" width="4" height="4"/>'
        '<text text-anchor="middle"><tspan x="1" y="2">t</tspan></text></svg>'
    )
    expected = tinyhtml5.parse(html, namespace_html_elements=False)
    assert _difference(markup.parse(html), expected) is None


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _stock_pdf(renderer: ReportRenderer, ctx: ReportContext) -> bytes:
    """The same HTML and stylesheet through WeasyPrint with none of the renderer's shortcuts."""
    html = renderer._html(ctx, link_stylesheet=False)
    fetcher = AssetFetcher()
    stylesheets = [
        CSS(url=asset_url("report.css"), url_fetcher=fetcher),
        CSS(string=_page_size_css(ctx.page_size)),
    ]
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=stylesheets, pdf_variant="pdf/ua-1"
    )
    assert isinstance(pdf, bytes)
    return pdf


@pytest.mark.parametrize(
    "name",
    ["team A4", "team without national benchmarks", "office Letter without national benchmarks"],
)
def test_report_pdf_has_the_pages_and_text_of_stock_weasyprints(
    renderer: ReportRenderer, name: str
) -> None:
    ctx = SAMPLES[name]
    fast, stock = _pages(render_pdf(ctx)), _pages(_stock_pdf(renderer, ctx))
    assert len(fast) == len(stock)
    for number, (ours, theirs) in enumerate(zip(fast, stock, strict=True), start=1):
        assert ours == theirs, f"page {number} differs"
