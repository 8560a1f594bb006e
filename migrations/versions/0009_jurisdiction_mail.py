"""A jurisdiction's email settings: sender name, reply-to contact, introduction per language.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jurisdiction_mail",
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("sender_name", sa.String(length=100), nullable=True),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("intro_en", sa.Text(), nullable=True),
        sa.Column("intro_es", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_jurisdiction_mail_jurisdiction_id_jurisdictions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("jurisdiction_id", name=op.f("pk_jurisdiction_mail")),
    )


def downgrade() -> None:
    op.drop_table("jurisdiction_mail")
