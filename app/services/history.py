"""Wave history: freeze the organisation tree and invitation counts at launch, read them back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.models import OrgUnit, WaveUnit


@dataclass(frozen=True)
class FrozenUnit:
    """One unit of a wave's tree as it was at launch."""

    id: int
    parent_id: int | None
    name: str
    path: str
    kind: str
    invited: int


def freeze_tree(
    session: Session, wave_id: int, jurisdiction_id: int, invited_units: Iterable[int]
) -> int:
    """Store the tree a wave is launched on: every invited unit and the units above it.

    ``invited_units`` holds one unit id per invitation. Runs inside the launch's transaction
    (no commit here). Returns the number of units frozen.
    """
    invited = Counter(invited_units)
    units = {
        u.id: u
        for u in session.execute(
            select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.name, OrgUnit.path, OrgUnit.kind).where(
                OrgUnit.jurisdiction_id == jurisdiction_id
            )
        )
    }
    keep: set[int] = set()
    for unit_id in invited:
        node = units.get(unit_id)
        while node is not None and node.id not in keep:
            keep.add(node.id)
            node = units.get(node.parent_id) if node.parent_id is not None else None
    rows = [
        {
            "wave_id": wave_id,
            "unit_id": u,
            "parent_unit_id": units[u].parent_id,
            "name": units[u].name,
            "path": units[u].path,
            "kind": str(units[u].kind),
            "invited": invited.get(u, 0),
        }
        for u in sorted(keep)
    ]
    if rows:
        session.execute(insert(WaveUnit), rows)
    return len(rows)


def find_frozen_tree(session: Session, wave_id: int) -> list[FrozenUnit] | None:
    """The wave's tree as launched, or None for a wave that has none (not launched yet)."""
    rows = session.execute(
        select(
            WaveUnit.unit_id,
            WaveUnit.parent_unit_id,
            WaveUnit.name,
            WaveUnit.path,
            WaveUnit.kind,
            WaveUnit.invited,
        )
        .where(WaveUnit.wave_id == wave_id)
        .order_by(WaveUnit.path)
    ).all()
    if not rows:
        return None
    return [FrozenUnit(r[0], r[1], r[2], r[3], str(r[4]), int(r[5])) for r in rows]
