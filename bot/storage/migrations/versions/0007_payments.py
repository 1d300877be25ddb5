"""plans and payments: entitlements, the ledger and quota usage

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entitlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("plan_id", sa.String(length=24), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subscription_charge_id", sa.String(length=128), nullable=True),
        sa.Column("renewal", sa.String(length=16), nullable=True),
        sa.Column("paid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlements")),
        sa.UniqueConstraint("user_id", "plan_id", name=op.f("uq_entitlements_user_id")),
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("plan_id", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("charge_id", sa.String(length=128), nullable=True),
        sa.Column("refund_of", sa.String(length=128), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("payload", sa.String(length=128), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger")),
        sa.UniqueConstraint("charge_id", name=op.f("uq_ledger_charge_id")),
        sa.UniqueConstraint("refund_of", name=op.f("uq_ledger_refund_of")),
    )
    op.create_index(op.f("ix_ledger_user_id"), "ledger", ["user_id"], unique=False)
    op.create_index(op.f("ix_ledger_created_at"), "ledger", ["created_at"], unique=False)
    op.create_table(
        "quota_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("bucket", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("settled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_usage")),
    )
    op.create_index(
        "ix_quota_usage_user_bucket_at", "quota_usage", ["user_id", "bucket", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_quota_usage_user_bucket_at", table_name="quota_usage")
    op.drop_table("quota_usage")
    op.drop_index(op.f("ix_ledger_created_at"), table_name="ledger")
    op.drop_index(op.f("ix_ledger_user_id"), table_name="ledger")
    op.drop_table("ledger")
    op.drop_table("entitlements")
