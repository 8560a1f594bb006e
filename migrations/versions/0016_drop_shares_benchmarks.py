"""Drop jurisdictions.shares_benchmarks: what a jurisdiction shares is decided per wave.

National benchmarks come from sharing agreements and approved contributions; the flag decided
nothing any more.

On SQLite the column is dropped in place (``ALTER TABLE … DROP COLUMN``, SQLite 3.35 and later)
rather than by batch mode's copy of the table: a dozen tables reference ``jurisdictions``, and
with foreign keys enforced (app.db turns them on) dropping the old copy would run an implicit
``DELETE FROM jurisdictions`` that fails on, or cascades into, every referencing row.

Going back restores the column NOT NULL with every jurisdiction set to true, the value each one
got when it was created. The server default that fills the existing rows stays: removing it
would need that same copy of the table, and the code of 0015 always writes the value itself.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IN_PLACE_DROP = (3, 35, 0)


def upgrade() -> None:
    dialect = op.get_bind().dialect
    if dialect.name == "sqlite":
        version = dialect.dbapi.sqlite_version_info  # type: ignore[union-attr]
        if tuple(version) < _IN_PLACE_DROP:
            raise RuntimeError(
                f"migration 0016 needs SQLite 3.35 or later to drop a column in place "
                f"(this Python has {'.'.join(map(str, version))})"
            )
    with op.batch_alter_table("jurisdictions", recreate="never") as batch:
        batch.drop_column("shares_benchmarks")


def downgrade() -> None:
    # A literal default (not sa.true()) lets SQLite add the column in place, without a copy.
    with op.batch_alter_table("jurisdictions", recreate="never") as batch:
        batch.add_column(
            sa.Column("shares_benchmarks", sa.Boolean(), server_default="1", nullable=False)
        )
