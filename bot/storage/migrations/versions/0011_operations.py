"""operations: /stats columns and indexes, broadcasts, payments in money

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# /stats: the columns of one role's window (role, created_at) and all that its queries read.
STATS_COLUMNS = (
    "role",
    "created_at",
    "model",
    "status",
    "error",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "pictures",
    "character_id",
    "user_id",
)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latency_ms", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("character_id", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("pictures", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_index("ix_messages_stats", "messages", list(STATS_COLUMNS), unique=False)
    op.create_index(
        "ix_route_decisions_created_at_route",
        "route_decisions",
        ["created_at", "route"],
        unique=False,
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unsubscribed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.alter_column("stars", new_column_name="amount", existing_type=sa.Integer())
        batch_op.add_column(
            sa.Column("currency", sa.String(length=3), server_default="XTR", nullable=False)
        )
        batch_op.add_column(sa.Column("provider_charge_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("note", sa.String(length=256), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_ledger_provider_charge_id"), ["provider_charge_id"], unique=False
        )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index(op.f("ix_broadcasts_state"), "broadcasts", ["state"], unique=False)
    op.create_table(
        "broadcast_recipients",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_recipients_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "user_id", name=op.f("pk_broadcast_recipients")),
    )
    op.create_index(
        "ix_broadcast_recipients_state",
        "broadcast_recipients",
        ["broadcast_id", "state"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_broadcast_recipients_state", table_name="broadcast_recipients")
    op.drop_table("broadcast_recipients")
    op.drop_index(op.f("ix_broadcasts_state"), table_name="broadcasts")
    op.drop_table("broadcasts")
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_provider_charge_id"))
        batch_op.drop_column("note")
        batch_op.drop_column("provider_charge_id")
        batch_op.drop_column("currency")
        batch_op.alter_column("amount", new_column_name="stars", existing_type=sa.Integer())
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("blocked_at")
        batch_op.drop_column("unsubscribed")
    op.drop_index("ix_route_decisions_created_at_route", table_name="route_decisions")
    op.drop_index("ix_messages_stats", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("pictures")
        batch_op.drop_column("character_id")
        batch_op.drop_column("latency_ms")
