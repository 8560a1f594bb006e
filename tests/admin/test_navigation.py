"""Every signed-in page carries the one navigation bar, with the links the role may follow."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from tests.admin import test_access_walk as walk
from tests.admin.test_access_walk import ALLOWED, PUBLIC_BLUEPRINTS, World, _client, _url

world = walk.world  # the access walk's fixture: the same users and objects

#: What each role's bar offers (the link texts), and what it must not.
OFFERED = {
    "national": (
        {"Home", "Jurisdictions", "Waves", "Accounts", "Audit log", "Your account"},
        {"Results", "Action plans", "Roster"},
    ),
    "admin": (
        {
            "Home",
            "Results",
            "Action plans",
            "Roster",
            "Staff list",
            "Waves",
            "Audit log",
            "Your account",
        },
        {"Jurisdictions"},
    ),
    "leader": (
        {"Home: results", "Action plans", "Your account"},
        {"Waves", "Roster", "Accounts", "Audit log", "Jurisdictions"},
    ),
}


def _bar(html: str) -> str | None:
    found = re.search(r'<nav class="site-nav"[^>]*>(.*?)</nav>', html, re.S)
    return found.group(1) if found else None


def test_every_signed_in_page_has_the_navigation_bar_with_sign_out(
    world: World, session: Session
) -> None:
    rules = [
        r
        for r in world.app.url_map.iter_rules()
        if r.endpoint != "static"
        and not r.endpoint.endswith(".static")
        and r.endpoint.split(".")[0] not in PUBLIC_BLUEPRINTS
        and "GET" in (r.methods or set())
    ]
    missing = []
    pages = 0
    for role in ("national", "admin", "leader"):
        client = _client(world, role)
        for rule in sorted(rules, key=lambda r: r.endpoint):
            if role not in ALLOWED[rule.endpoint] or rule.endpoint == "auth.logout":
                continue
            response = client.get(_url(rule, world.args))
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            pages += 1
            bar = _bar(response.get_data(as_text=True))
            if bar is None or "Sign out" not in bar:
                missing.append(f"{role} {rule.rule}")
    assert missing == []
    assert pages >= 20  # the walk really opened pages


def test_each_role_is_offered_only_the_links_it_may_follow(world: World) -> None:
    for role, (offered, withheld) in OFFERED.items():
        bar = _bar(_client(world, role).get("/password").get_data(as_text=True))
        assert bar is not None
        texts = {t.strip() for t in re.findall(r"<a [^>]*>([^<]+)</a>", bar)}
        assert offered <= texts, (role, texts)
        assert not withheld & texts, (role, texts)
        assert 'aria-current="page">Your account<' in bar
