"""The survey in a real browser: axe-core on every page, keyboard only, and a phone screen."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import PendingResponse
from app.services import responses
from tests.conftest import TEST_KEYS
from tests.e2e.conftest import Site, axe_violations
from tests.survey.helpers import INSTRUMENT, PAGES


def _watch_csp(page: Any) -> list[str]:
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return problems


def _scan(page: Any, label: str, scanned: dict[str, list[dict[str, Any]]]) -> None:
    scanned[label] = axe_violations(page)


def test_every_survey_page_has_no_wcag_21_aa_violations(site: Site, context: Any) -> None:
    page = context.new_page()
    csp_problems = _watch_csp(page)
    scanned: dict[str, list[dict[str, Any]]] = {}
    token = site.open_wave.tokens[0]

    page.goto(f"{site.base}/privacy")
    _scan(page, "privacy", scanned)
    page.goto(f"{site.base}/privacy?lang=es")
    _scan(page, "privacy (es)", scanned)
    page.goto(f"{site.base}/s/{token}?lang=en")
    assert page.url.endswith("/s/")
    _scan(page, "welcome", scanned)
    page.click("text=Start the survey")
    for number in range(1, PAGES):
        assert page.url.endswith(f"/s/page/{number}")
        _scan(page, f"section {number}", scanned)
        page.check(f"#{INSTRUMENT.scales[number - 1].items[0].key}-4")
        page.click("button[value=next]")
    _scan(page, "last page", scanned)
    # A comment over the limit (maxlength stops typing; a script can force it) shows the errors.
    page.evaluate("document.getElementById('comment').value = 'x'.repeat(2001)")
    page.click("button[value=submit]")
    assert page.locator(".error-summary").is_visible()
    _scan(page, "errors shown", scanned)
    page.goto(f"{site.base}/s/page/3?lang=es")
    _scan(page, "section 3 (es)", scanned)
    page.goto(f"{site.base}/s/page/{PAGES}?lang=en")
    page.click("button[value=submit]")
    assert page.url.endswith("/s/thanks")
    _scan(page, "thanks", scanned)
    page.goto(f"{site.base}/s/{token}")
    assert "already answered" in page.content()
    _scan(page, "already answered", scanned)
    page.goto(f"{site.base}/s/{site.closed_wave.tokens[0]}")
    assert "closed" in page.content()
    _scan(page, "closed", scanned)
    page.goto(f"{site.base}/s/{'N' * 43}")
    _scan(page, "not found", scanned)

    assert len(scanned) == PAGES + 9
    assert {label: v for label, v in scanned.items() if v} == {}
    assert csp_problems == []


def _tab_to(page: Any, selector: str, limit: int = 120) -> None:
    """Press Tab until the focused element matches ``selector``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_whole_survey_can_be_completed_by_keyboard_alone(site: Site, context: Any) -> None:
    token = site.open_wave.tokens[1]
    page = context.new_page()
    page.goto(f"{site.base}/s/{token}?lang=en")
    _tab_to(page, "a.button-primary")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    page.wait_for_url("**/s/page/1")
    for number in range(1, PAGES):
        for item in INSTRUMENT.scales[number - 1].items:
            _tab_to(page, f"input[name={item.key}]")
            page.keyboard.press("Space")  # selects the first answer
            for _ in range(3):
                page.keyboard.press("ArrowDown")  # ...then moves to the fourth, "Agree"
            assert page.is_checked(f"#{item.key}-4")
        _tab_to(page, "button[value=next]")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/s/page/{number + 1}")
    _tab_to(page, "#comment")
    page.keyboard.type("Keyboard only.")
    _tab_to(page, "button[value=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/s/thanks")

    with Session(site.engine) as session:
        assert session.scalar(select(func.count()).select_from(PendingResponse)) >= 1
        responses.move_pool(session, site.open_wave.wave_id, flush_all=True, keys=TEST_KEYS.mix)
        from app.models import Response

        stored = [r for r in session.scalars(select(Response)) if r.comment == "Keyboard only."]
    assert len(stored) == 1
    assert stored[0].answers == {key: 4 for key in INSTRUMENT.item_keys}


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_phone_sized_screen_needs_no_sideways_scrolling_and_has_large_targets(
    site: Site, browser: Any, language: str
) -> None:
    from tests.e2e.conftest import AXE

    context = browser.new_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True, locale=language
    )
    context.add_init_script(path=str(AXE))
    token = site.open_wave.tokens[2 if language == "en" else 3]
    page = context.new_page()
    # The invitations are in English: a Spanish reader opens the link with ?lang=es (the link
    # itself may choose the language; otherwise the invitation's language decides).
    page.goto(f"{site.base}/s/{token}?lang={language}")
    assert page.evaluate("document.documentElement.lang") == language
    page.tap("a.button-primary")
    page.wait_for_url("**/s/page/1")
    for number in range(1, PAGES):
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"section {number} scrolls sideways ({width}px)"
        sizes = page.evaluate(
            "[...document.querySelectorAll('.choice label, button, a.button')]"
            ".map(e => e.getBoundingClientRect().height)"
        )
        assert min(sizes) >= 44
        assert axe_violations(page) == []
        page.tap(f"label[for={INSTRUMENT.scales[number - 1].items[0].key}-5]")
        page.tap("button[value=next]")
        page.wait_for_url(f"**/s/page/{number + 1}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert axe_violations(page) == []
    page.tap("button[value=submit]")
    page.wait_for_url("**/s/thanks")
    context.close()
