"""Why a report cannot be produced, in words a leader understands."""

from __future__ import annotations

from typing import Literal

from app.i18n import lazy_message as _l

#: Why a unit has no numbers of its own: too few answers, or to protect a smaller group.
HiddenReason = Literal["too_few", "protects_smaller"]


class ReportError(Exception):
    """A report that cannot be produced; the message says why in words a leader understands."""


class UnknownWave(ReportError):
    """No such wave."""


class UnknownUnit(ReportError):
    """No such unit in the wave's jurisdiction."""


class NoResponses(ReportError):
    """The wave has no stored responses yet."""


class UnitSuppressed(ReportError):
    """The unit is not shown on its own; its answers count in ``included_in`` (if anything)."""

    def __init__(
        self,
        unit_name: str,
        included_in: str | None,
        min_n: int,
        reason: HiddenReason = "too_few",
    ) -> None:
        self.unit_name = unit_name
        self.included_in = included_in
        self.min_n = min_n
        self.reason = reason
        super().__init__(unit_name, included_in, min_n, reason)

    def __str__(self) -> str:
        # Composed when shown, so it is in the language of the page that shows it.
        if self.reason == "too_few":
            why = _l("it has fewer than %(n)s answers", n=self.min_n)
        else:
            why = _l("it is hidden so that a smaller group cannot be worked out by subtraction")
        text = str(
            _l("There is no separate report for %(unit)s: %(why)s.", unit=self.unit_name, why=why)
        )
        if self.included_in:
            where = _l("Its answers are included in the report of %(unit)s.", unit=self.included_in)
            text += f" {where}"
        return text
