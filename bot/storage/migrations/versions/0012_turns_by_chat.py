"""turns by chat: the recent turns of one chat and the broadcasts it got (a restarted bot
looks for a part it sent after the last message it knows of)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_turns_chat_id_answer_id", "turns", ["chat_id", "answer_id"])
    op.create_index(
        "ix_broadcast_recipients_user_id_message_id",
        "broadcast_recipients",
        ["user_id", "message_id"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_broadcast_recipients_user_id_message_id", table_name="broadcast_recipients"
    )
    op.drop_index("ix_turns_chat_id_answer_id", table_name="turns")
