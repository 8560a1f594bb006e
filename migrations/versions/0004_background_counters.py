"""Background answers leave the response rows: jurisdiction-wide counters and per-language sums.

Every stored response's background answers are added to ``background_counts`` (per wave ×
question × option, 0 = not answered), then ``responses.background`` is dropped. Stored responses
never recorded their language: they are counted under ``_language`` option 0 ("not recorded") and
have no per-language sums. Answers still waiting in the shuffle pool carry theirs in the sealed
payload and are counted when the mixer moves them.

The old column's bytes: SQLite rebuilds the table (secure_delete zeroes the old pages) and
``app.migrate.upgrade`` checkpoints the WAL; PostgreSQL only marks a dropped column as gone, so
the rows are rewritten here and ``app.migrate.upgrade`` runs VACUUM FULL on the table afterwards.

Revision ID: 0004
Revises: 0003
"""

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANGUAGE_QUESTION = "_language"


def _create_tables() -> None:
    op.create_table(
        "background_counts",
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=100), nullable=False),
        sa.Column("option", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_background_counts_jurisdiction_id_jurisdictions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["waves.id"],
            name=op.f("fk_background_counts_wave_id_waves"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("wave_id", "question", "option", name=op.f("pk_background_counts")),
    )
    with op.batch_alter_table("background_counts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_background_counts_jurisdiction_id"), ["jurisdiction_id"], unique=False
        )
    op.create_table(
        "language_item_sums",
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("item_a", sa.String(length=100), nullable=False),
        sa.Column("item_b", sa.String(length=100), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sum_a", sa.Integer(), nullable=False),
        sa.Column("sum_b", sa.Integer(), nullable=False),
        sa.Column("sum_ab", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_language_item_sums_jurisdiction_id_jurisdictions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["waves.id"],
            name=op.f("fk_language_item_sums_wave_id_waves"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "wave_id", "language", "item_a", "item_b", name=op.f("pk_language_item_sums")
        ),
    )
    with op.batch_alter_table("language_item_sums", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_language_item_sums_jurisdiction_id"), ["jurisdiction_id"], unique=False
        )

    op.create_table(
        "language_holdbacks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["waves.id"],
            name=op.f("fk_language_holdbacks_wave_id_waves"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_language_holdbacks")),
    )
    with op.batch_alter_table("language_holdbacks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_language_holdbacks_wave_id"), ["wave_id"], unique=False
        )


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _questions(definition: Any) -> list[tuple[str, int]]:
    """(key, number of options) of each background question of a stored definition."""
    found = []
    for question in _loaded(definition).get("background") or []:
        options = next(iter(question["options"].values()))
        found.append((str(question["key"]), len(options)))
    return found


def _move_background(connection: sa.Connection) -> None:
    waves = connection.execute(
        sa.text(
            "SELECT w.id, w.jurisdiction_id, i.definition FROM waves w "
            "JOIN instruments i ON i.id = w.instrument_id"
        )
    ).all()
    insert = sa.text(
        "INSERT INTO background_counts (wave_id, question, option, jurisdiction_id, count) "
        "VALUES (:wave_id, :question, :option, :jurisdiction_id, :count)"
    )
    for wave_id, jurisdiction_id, definition in waves:
        questions = _questions(definition)
        counts: Counter[tuple[str, int]] = Counter()
        for (background,) in connection.execute(
            sa.text("SELECT background FROM responses WHERE wave_id = :wave_id"),
            {"wave_id": wave_id},
        ):
            answers = _loaded(background) or {}
            for key, options in questions:
                value = answers.get(key)
                # An option outside the instrument cannot be shown as anything: not answered.
                valid = isinstance(value, int) and 1 <= value <= options
                counts[(key, value if valid else 0)] += 1
            counts[(LANGUAGE_QUESTION, 0)] += 1
        rows = [
            {
                "wave_id": wave_id,
                "question": question,
                "option": option,
                "jurisdiction_id": jurisdiction_id,
                "count": count,
            }
            for (question, option), count in sorted(counts.items())
        ]
        if rows:
            connection.execute(insert, rows)


def upgrade() -> None:
    _create_tables()
    connection = op.get_bind()
    _move_background(connection)
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("background")
    if connection.dialect.name == "postgresql":
        # New row versions hold NULL where the dropped column was; VACUUM FULL (outside this
        # transaction, in app.migrate.upgrade) then removes the old versions.
        connection.execute(sa.text("UPDATE responses SET id = id"))


def downgrade() -> None:
    # The counters cannot be split back into rows (that is their point): responses get an empty
    # background, and the counters are dropped.
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("background", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.alter_column("background", server_default=None)
    with op.batch_alter_table("language_holdbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_language_holdbacks_wave_id"))
    op.drop_table("language_holdbacks")
    with op.batch_alter_table("language_item_sums", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_language_item_sums_jurisdiction_id"))
    op.drop_table("language_item_sums")
    with op.batch_alter_table("background_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_background_counts_jurisdiction_id"))
    op.drop_table("background_counts")
