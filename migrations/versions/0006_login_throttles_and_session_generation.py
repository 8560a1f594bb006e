"""Sign-in throttled per (account, address); a session generation per account.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("address_key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wait_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint(
            "account_key", "address_key", name=op.f("uq_login_throttles_account_key_address_key")
        ),
    )
    op.create_index(
        op.f("ix_login_throttles_account_key"), "login_throttles", ["account_key"], unique=False
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    # In place (SQLite 3.35+): a copy of users would cascade into user_units and empty it.
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.drop_column("session_generation")
    op.drop_index(op.f("ix_login_throttles_account_key"), table_name="login_throttles")
    op.drop_table("login_throttles")
