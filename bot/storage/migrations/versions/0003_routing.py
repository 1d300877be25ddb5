"""routing: per-chat switch and stored route decisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("routing_enabled", sa.Boolean(), server_default=sa.true(), nullable=False)
        )

    op.create_table(
        "route_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_route_decisions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_decisions")),
        sa.UniqueConstraint("message_id", name=op.f("uq_route_decisions_message_id")),
    )
    op.create_index(
        op.f("ix_route_decisions_chat_id"), "route_decisions", ["chat_id"], unique=False
    )
    op.create_index(op.f("ix_route_decisions_stage"), "route_decisions", ["stage"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_route_decisions_stage"), table_name="route_decisions")
    op.drop_index(op.f("ix_route_decisions_chat_id"), table_name="route_decisions")
    op.drop_table("route_decisions")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_column("routing_enabled")
