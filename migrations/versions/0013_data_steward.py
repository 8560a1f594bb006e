"""The data-steward permission of a jurisdiction administrator (research extracts).

Revision ID: 0013
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A literal default lets SQLite add the column in place. With ``sa.false()`` batch mode
    # copied the table, and dropping the old copy cascaded into user_units: every leader lost
    # their units (tests/test_migrations_keep_rows.py).
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.add_column(
            sa.Column("data_steward", sa.Boolean(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    # In place as well (SQLite 3.35+ drops columns itself): a copy would empty user_units.
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.drop_column("data_steward")
