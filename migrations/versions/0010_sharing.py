"""Data-sharing agreements per wave, approved contributions, trusted keys, the national store.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "received_contributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.String(length=36), nullable=False),
        sa.Column("jurisdiction_slug", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction_name", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("instrument_key", sa.String(length=64), nullable=False),
        sa.Column("instrument_version", sa.String(length=32), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "none",
                "benchmark",
                "psychometric",
                "research_extract",
                name="sharinglevel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_contributions")),
        sa.UniqueConstraint(
            "contribution_id", name=op.f("uq_received_contributions_contribution_id")
        ),
    )
    with op.batch_alter_table("received_contributions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_received_contributions_jurisdiction_slug"),
            ["jurisdiction_slug"],
            unique=False,
        )

    op.create_table(
        "trusted_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_slug", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_keys")),
        sa.UniqueConstraint("public_key", name=op.f("uq_trusted_keys_public_key")),
    )
    with op.batch_alter_table("trusted_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trusted_keys_jurisdiction_slug"), ["jurisdiction_slug"], unique=False
        )

    op.create_table(
        "contributions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "none",
                "benchmark",
                "psychometric",
                "research_extract",
                name="sharinglevel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("approved_by", sa.String(length=320), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_contributions_jurisdiction_id_jurisdictions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["waves.id"],
            name=op.f("fk_contributions_wave_id_waves"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributions")),
    )
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contributions_jurisdiction_id"), ["jurisdiction_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contributions_wave_id"), ["wave_id"], unique=False)

    op.create_table(
        "sharing_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "none",
                "benchmark",
                "psychometric",
                "research_extract",
                name="sharinglevel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_by", sa.String(length=320), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_sharing_agreements_jurisdiction_id_jurisdictions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["users.id"],
            name=op.f("fk_sharing_agreements_set_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["waves.id"],
            name=op.f("fk_sharing_agreements_wave_id_waves"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_agreements")),
    )
    with op.batch_alter_table("sharing_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sharing_agreements_jurisdiction_id"), ["jurisdiction_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sharing_agreements_wave_id"), ["wave_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sharing_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_agreements_wave_id"))
        batch_op.drop_index(batch_op.f("ix_sharing_agreements_jurisdiction_id"))

    op.drop_table("sharing_agreements")
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contributions_wave_id"))
        batch_op.drop_index(batch_op.f("ix_contributions_jurisdiction_id"))

    op.drop_table("contributions")
    with op.batch_alter_table("trusted_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trusted_keys_jurisdiction_slug"))

    op.drop_table("trusted_keys")
    with op.batch_alter_table("received_contributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_contributions_jurisdiction_slug"))

    op.drop_table("received_contributions")
