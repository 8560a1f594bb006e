"""Fixtures for the instrument tests: a small valid definition and a way to see its errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from instrument_samples import ErrorsOf, make_definition, write_yaml

from surveys import InstrumentError, load_instrument


@pytest.fixture
def definition() -> dict[str, Any]:
    return make_definition()


@pytest.fixture
def errors_of(tmp_path: Path) -> ErrorsOf:
    """Write a definition as YAML, load it, and return its error lines without the file prefix."""

    def errors(data: object) -> list[str]:
        path = write_yaml(tmp_path / "bad.yaml", data)
        with pytest.raises(InstrumentError) as caught:
            load_instrument(path)
        prefix = f"{path}: "
        assert all(line.startswith(prefix) for line in caught.value.errors), caught.value.errors
        return [line.removeprefix(prefix) for line in caught.value.errors]

    return errors
