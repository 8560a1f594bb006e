"""The lock file pins every dependency within pyproject's bounds; private overrides still fit."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {
        canonicalize_name(name): version
        for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, flags=re.M)
    }


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]
    ]


def test_every_dependency_is_pinned_within_its_bounds() -> None:
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock (run make lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside {requirement.specifier} (run make lock)"
        )


def test_libraries_whose_private_methods_we_override_have_an_upper_bound() -> None:
    bounded = {canonicalize_name(r.name): r.specifier for r in _requirements()}
    for name in ("weasyprint", "huey"):
        assert any(spec.operator in {"<", "<=", "~=", "=="} for spec in bounded[name]), name


def test_the_overridden_private_methods_exist_in_the_installed_versions() -> None:
    from huey.consumer import Consumer
    from weasyprint import HTML

    assert callable(getattr(HTML, "_ua_stylesheets", None))
    assert callable(getattr(Consumer, "_set_signal_handlers", None))
