"""A language per account (reports and pages default to it) and per report batch (its ZIP's).

Revision ID: 0015
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        # NULL: no choice made; pages follow the browser, reports the page.
        batch.add_column(sa.Column("language", sa.String(length=16), nullable=True))
    with op.batch_alter_table("report_batches") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=16), nullable=False, server_default="en")
        )


def downgrade() -> None:
    with op.batch_alter_table("report_batches") as batch:
        batch.drop_column("language")
    # In place (SQLite 3.35+): a copy of users would cascade into user_units and empty it.
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.drop_column("language")
