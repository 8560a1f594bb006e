"""Wave history: the organisation tree and invitation counts each wave was launched on.

Launched waves that exist already get their tree from the data at migration time: every unit
that has invitations or responses in the wave, with the units above it, as they are now.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wave_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("parent_unit_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_unit_id"],
            ["org_units.id"],
            name=op.f("fk_wave_units_parent_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_units.id"], name=op.f("fk_wave_units_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name=op.f("fk_wave_units_wave_id_waves"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_units")),
        sa.UniqueConstraint("wave_id", "unit_id", name=op.f("uq_wave_units_wave_id_unit_id")),
    )
    with op.batch_alter_table("wave_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wave_units_wave_id"), ["wave_id"], unique=False)
    _backfill(op.get_bind())


def _backfill(connection: sa.Connection) -> None:
    """Freeze the current tree for every wave that was launched before this table existed."""
    units = {
        row.id: row
        for row in connection.execute(
            sa.text("SELECT id, parent_id, name, path, kind FROM org_units")
        )
    }
    waves = connection.execute(
        sa.text("SELECT id FROM waves WHERE status IN ('open', 'closed')")
    ).all()
    for (wave_id,) in waves:
        invited = {
            unit_id: int(n)
            for unit_id, n in connection.execute(
                sa.text(
                    "SELECT unit_id, COUNT(*) FROM invitations WHERE wave_id = :w GROUP BY unit_id"
                ),
                {"w": wave_id},
            )
        }
        answered = {
            unit_id
            for (unit_id,) in connection.execute(
                sa.text("SELECT DISTINCT unit_id FROM responses WHERE wave_id = :w"),
                {"w": wave_id},
            )
        }
        keep: set[int] = set()
        for unit_id in set(invited) | answered:
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
                "kind": units[u].kind,
                "invited": invited.get(u, 0),
            }
            for u in sorted(keep)
        ]
        if rows:
            connection.execute(
                sa.text(
                    "INSERT INTO wave_units (wave_id, unit_id, parent_unit_id, name, path, kind,"
                    " invited) VALUES (:wave_id, :unit_id, :parent_unit_id, :name, :path, :kind,"
                    " :invited)"
                ),
                rows,
            )


def downgrade() -> None:
    with op.batch_alter_table("wave_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wave_units_wave_id"))
    op.drop_table("wave_units")
