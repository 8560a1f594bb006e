"""Rendered sample reports, shared by the reporting tests (rendering takes about a second)."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from app.reporting import ReportContext, render_pdf
from app.reporting.sample import sample_team_context, sample_unit_context


def squash(text: str) -> str:
    """Text without whitespace: PDF extraction breaks lines wherever the layout wrapped."""
    return re.sub(r"\s+", "", text)


class RenderedReport:
    def __init__(self, ctx: ReportContext) -> None:
        self.ctx = ctx
        self.pdf = render_pdf(ctx)
        self.reader = PdfReader(io.BytesIO(self.pdf))
        self.pages = [page.extract_text() for page in self.reader.pages]
        self.text = "\n".join(self.pages)


@pytest.fixture(scope="session")
def team_report() -> RenderedReport:
    return RenderedReport(sample_team_context(1))


@pytest.fixture(scope="session")
def unit_report() -> RenderedReport:
    return RenderedReport(sample_unit_context(2))


@pytest.fixture(scope="session")
def letter_team_report() -> RenderedReport:
    return RenderedReport(sample_team_context(1, page_size="Letter"))


@pytest.fixture(scope="session")
def team_report_without_national() -> RenderedReport:
    return RenderedReport(sample_team_context(3, national_published=False))
