"""durable turns: the update inbox and the turns' outbox

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
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
        "updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=24), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_updates")),
    )
    op.create_index(op.f("ix_updates_received_at"), "updates", ["received_at"], unique=False)
    op.execute(
        "INSERT INTO updates (update_id, state, received_at) "
        "SELECT update_id, 'handled', processed_at FROM processed_updates"
    )
    with op.batch_alter_table("processed_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_updates_processed_at"))
    op.drop_table("processed_updates")
    op.create_table(
        "turns",
        sa.Column("answer_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("reply_to", sa.BigInteger(), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("visible", sa.JSON(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=True),
        sa.Column("delivered", sa.JSON(), nullable=False),
        sa.Column("reservation", sa.JSON(), nullable=True),
        sa.Column("resumes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["messages.id"],
            name=op.f("fk_turns_answer_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["messages.id"],
            name=op.f("fk_turns_question_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("answer_id", name=op.f("pk_turns")),
    )
    op.create_index(op.f("ix_turns_state"), "turns", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_turns_state"), table_name="turns")
    op.drop_table("turns")
    op.create_table(
        "processed_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_processed_updates")),
    )
    op.create_index(
        op.f("ix_processed_updates_processed_at"),
        "processed_updates",
        ["processed_at"],
        unique=False,
    )
    op.execute(
        "INSERT INTO processed_updates (update_id, processed_at) "
        "SELECT update_id, received_at FROM updates WHERE state = 'handled'"
    )
    op.drop_index(op.f("ix_updates_received_at"), table_name="updates")
    op.drop_table("updates")
