"""A fast parser for the reports' own HTML, building the tree WeasyPrint's HTML5 parser builds.

WeasyPrint parses HTML with tinyhtml5, a pure-Python HTML5 parser that handles any markup
found on the web; on a team report it takes about a tenth of the rendering time. The reports'
HTML comes from our own templates: every element is closed, tables have their row groups,
nothing relies on the HTML5 parser's error recovery. For such markup the standard library's
tokenizer plus a small tree builder give the same tree (tags, attributes, text and tails)
several times faster.

:func:`parse` refuses (raises :class:`UnsupportedMarkup`) anything whose HTML5 tree could
differ from a plain nesting of the tags as written — a missing or stray end tag, content
the HTML5 parser would move (text or elements directly in a table), a paragraph or list item
closed implicitly, unknown elements — and the caller then uses tinyhtml5. The tests compare
both parsers' trees on every sample report.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from xml.etree import ElementTree

from tinyhtml5.constants import adjust_foreign_attributes, adjust_svg_attributes, namespaces

SVG = namespaces["svg"]
_SVG_PREFIX = f"{{{SVG}}}"

#: HTML elements the templates may use; any other tag falls back to the HTML5 parser.
_HTML_ELEMENTS = frozenset(
    [
        "html",
        "head",
        "body",
        "title",
        "meta",
        "link",
        "style",
        "div",
        "span",
        "p",
        "a",
        "em",
        "strong",
        "b",
        "i",
        "small",
        "sub",
        "sup",
        "br",
        "section",
        "header",
        "footer",
        "main",
        "article",
        "aside",
        "nav",
        "figure",
        "figcaption",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "caption",
        "colgroup",
        "col",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "abbr",
        "blockquote",
        "q",
        "cite",
        "code",
        "time",
        "mark",
    ]
)
_VOID = frozenset({"meta", "link", "br", "col"})
#: Start tags that close an open ``p`` (HTML5 "in body" rules): refused inside a paragraph.
_CLOSES_P = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "details",
        "dialog",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "ul",
        "li",
        "dd",
        "dt",
    ]
)
#: Elements whose start tag implicitly closes an open element of the same kind.
_SELF_CLOSING_SIBLINGS = frozenset({"li", "dd", "dt", "tr", "td", "th", "thead", "tbody", "tfoot"})
#: What each table part may hold directly; text there (other than spaces) would be moved.
_TABLE_CHILDREN = {
    "table": frozenset({"caption", "colgroup", "thead", "tbody", "tfoot"}),
    "thead": frozenset({"tr"}),
    "tbody": frozenset({"tr"}),
    "tfoot": frozenset({"tr"}),
    "tr": frozenset({"td", "th"}),
    "colgroup": frozenset({"col"}),
}
#: SVG elements the charts draw; their names are the same in lower case.
_SVG_ELEMENTS = frozenset({"svg", "g", "title", "desc", "rect", "path", "line", "circle", "text"})
_SVG_ELEMENTS |= frozenset({"tspan", "polyline", "polygon", "ellipse"})
_SPACES = " \t\n\f"
#: An ampersand that does not start a complete reference (``&amp;``, ``&#38;``, ``&#x26;``):
#: the HTML5 rules for those differ between text and attributes, so they are left to tinyhtml5.
_BARE_AMPERSAND = re.compile(r"&(?![A-Za-z][A-Za-z0-9]*;|#[0-9]+;|#[xX][0-9A-Fa-f]+;)")


class UnsupportedMarkup(ValueError):
    """The markup needs the HTML5 parser's rules; parse it with tinyhtml5 instead."""


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: ElementTree.Element | None = None
        self._stack: list[ElementTree.Element] = []
        self._names: list[str] = []  # local names of the open elements
        self._in_svg = 0
        self._phase = "start"  # start → html → head → after-head → body → after-body

    # -- tags ----------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs)
        if not self._in_svg and tag in _VOID:
            self._end(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._in_svg and tag not in _VOID:
            raise UnsupportedMarkup(f"self-closing <{tag}/> in HTML")
        self._start(tag, attrs)
        self._end(tag)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._in_svg or tag == "svg":
            self._start_svg(tag, attrs)
            return
        if tag not in _HTML_ELEMENTS:
            raise UnsupportedMarkup(f"<{tag}>")
        parent = self._names[-1] if self._names else None
        if tag == "html":
            if self._phase != "start":
                raise UnsupportedMarkup("second <html>")
            self._phase = "html"
        elif tag == "head":
            if parent != "html" or self._phase != "html":
                raise UnsupportedMarkup("<head> out of place")
            self._phase = "head"
        elif tag == "body":
            if parent != "html" or self._phase != "after-head":
                raise UnsupportedMarkup("<body> out of place")
            self._phase = "body"
        elif self._phase == "head":
            if tag not in {"title", "meta", "link", "style"} or parent != "head":
                raise UnsupportedMarkup(f"<{tag}> in <head>")
        elif self._phase != "body":
            raise UnsupportedMarkup(f"<{tag}> outside <body>")
        else:
            self._check_nesting(tag, parent)
        element = ElementTree.Element(tag, _html_attributes(attrs))
        self._append(element)

    def _check_nesting(self, tag: str, parent: str | None) -> None:
        if parent in _TABLE_CHILDREN and tag not in _TABLE_CHILDREN[parent]:
            raise UnsupportedMarkup(f"<{tag}> directly in <{parent}>")
        if tag in _TABLE_CHILDREN["table"] | {"tr", "td", "th", "col"}:
            allowed = {
                "tr": {"thead", "tbody", "tfoot"},
                "td": {"tr"},
                "th": {"tr"},
                "col": {"colgroup"},
            }.get(tag, {"table"})
            if parent not in allowed:
                raise UnsupportedMarkup(f"<{tag}> in <{parent}>")
        if tag in _CLOSES_P and "p" in self._names:
            raise UnsupportedMarkup(f"<{tag}> inside <p> (the HTML5 parser would close it)")
        if tag in _SELF_CLOSING_SIBLINGS and tag in self._names:
            raise UnsupportedMarkup(f"<{tag}> inside <{tag}>")
        if tag in {"li", "dd", "dt"} and ({"li", "dd", "dt"} & set(self._names)):
            raise UnsupportedMarkup(f"<{tag}> inside a list item")
        if tag == "a" and "a" in self._names:
            raise UnsupportedMarkup("<a> inside <a>")
        if tag == "table" and parent in _TABLE_CHILDREN:
            raise UnsupportedMarkup("<table> in a table part")

    def _start_svg(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SVG_ELEMENTS:
            raise UnsupportedMarkup(f"<{tag}> in SVG")
        if tag == "svg":
            if self._in_svg:
                raise UnsupportedMarkup("<svg> in <svg>")
            if self._phase != "body" or (self._names and self._names[-1] in _TABLE_CHILDREN):
                raise UnsupportedMarkup("<svg> out of place")
        self._in_svg += 1
        self._append(ElementTree.Element(_SVG_PREFIX + tag, _svg_attributes(attrs)))

    def _append(self, element: ElementTree.Element) -> None:
        if self._stack:
            self._stack[-1].append(element)
        elif self.root is None:
            self.root = element
        else:
            raise UnsupportedMarkup("content after </html>")
        self._stack.append(element)
        local = element.tag.removeprefix(_SVG_PREFIX)
        self._names.append(local)

    def handle_endtag(self, tag: str) -> None:
        if not self._in_svg and tag in _VOID:
            raise UnsupportedMarkup(f"</{tag}>")
        self._end(tag)

    def _end(self, tag: str) -> None:
        if not self._names or self._names[-1] != tag:
            raise UnsupportedMarkup(f"</{tag}> does not close the open element")
        element = self._stack.pop()
        self._names.pop()
        if element.tag.startswith(_SVG_PREFIX):
            self._in_svg -= 1
        elif tag == "head":
            self._phase = "after-head"
        elif tag == "body":
            self._phase = "after-body"
        elif tag == "html":
            self._phase = "end"

    # -- text ----------------------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        blank = not data.strip(_SPACES)
        phase = self._phase
        if not blank and phase != "head" and phase != "body":
            raise UnsupportedMarkup("text outside <head> and <body>")
        if phase in {"start", "html"}:
            return  # the HTML5 parser drops spaces before <head>
        if phase in {"after-body", "end"}:
            # Spaces after </body> or </html> go to the end of <body> in the HTML5 tree.
            self._append_text(self._body(), data)
            return
        if not self._in_svg and self._names and self._names[-1] in _TABLE_CHILDREN and not blank:
            raise UnsupportedMarkup(f"text directly in <{self._names[-1]}>")
        self._append_text(self._stack[-1], data)

    def _body(self) -> ElementTree.Element:
        assert self.root is not None  # after </body>
        return self.root[-1]

    @staticmethod
    def _append_text(parent: ElementTree.Element, data: str) -> None:
        if len(parent):
            last = parent[-1]
            last.tail = (last.tail or "") + data
        else:
            parent.text = (parent.text or "") + data

    def handle_comment(self, data: str) -> None:
        raise UnsupportedMarkup("comment")

    def handle_decl(self, decl: str) -> None:
        if decl.lower() != "doctype html" or self._phase != "start":
            raise UnsupportedMarkup(f"<!{decl}>")

    def unknown_decl(self, data: str) -> None:
        raise UnsupportedMarkup(f"<![{data}")

    def handle_pi(self, data: str) -> None:
        raise UnsupportedMarkup("processing instruction")


def _html_attributes(attrs: list[tuple[str, str | None]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in attrs:
        if name in result:
            raise UnsupportedMarkup(f"attribute {name!r} given twice")
        result[name] = "" if value is None else value
    return result


def _svg_attributes(attrs: list[tuple[str, str | None]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in attrs:
        if name in adjust_foreign_attributes:
            _prefix, local, namespace = adjust_foreign_attributes[name]
            key = f"{{{namespace}}}{local}"
        else:
            key = adjust_svg_attributes.get(name, name)
        if key in result:
            raise UnsupportedMarkup(f"attribute {name!r} given twice")
        result[key] = "" if value is None else value
    return result


def parse(html: str) -> ElementTree.Element:
    """The ``<html>`` element of ``html``, as tinyhtml5 builds it (HTML elements without a
    namespace, SVG ones in the SVG namespace); raises :class:`UnsupportedMarkup` when the
    markup is outside what this parser is sure to build the same way."""
    if "\r" in html or "\0" in html:
        raise UnsupportedMarkup("carriage return or NUL in the markup")
    if _BARE_AMPERSAND.search(html):
        raise UnsupportedMarkup("an & that does not start a complete character reference")
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    if builder.root is None or builder._stack or builder._phase not in {"after-body", "end"}:
        raise UnsupportedMarkup("the document is not one closed <html> with head and body")
    return builder.root
