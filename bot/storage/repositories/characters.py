"""Revisions of character files made from Telegram."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.dto import CharacterRevision
from bot.storage.models import CharacterRevisionRow


class CharacterRevisionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        character_id: str,
        *,
        action: str,
        author_id: int,
        previous_text: str | None,
        new_text: str,
    ) -> int:
        """Record a change; returns its revision number (1, 2, ... per character)."""
        last = self._session.scalar(
            select(func.max(CharacterRevisionRow.revision)).where(
                CharacterRevisionRow.character_id == character_id
            )
        )
        revision = int(last or 0) + 1
        self._session.add(
            CharacterRevisionRow(
                character_id=character_id,
                revision=revision,
                action=action,
                author_id=author_id,
                previous_text=previous_text,
                new_text=new_text,
            )
        )
        self._session.flush()
        return revision

    def history(self, character_id: str) -> list[CharacterRevision]:
        rows = self._session.scalars(
            select(CharacterRevisionRow)
            .where(CharacterRevisionRow.character_id == character_id)
            .order_by(CharacterRevisionRow.revision)
        )
        return [_revision(row) for row in rows]

    def get(self, character_id: str, revision: int) -> CharacterRevision | None:
        row = self._session.scalar(
            select(CharacterRevisionRow).where(
                CharacterRevisionRow.character_id == character_id,
                CharacterRevisionRow.revision == revision,
            )
        )
        return _revision(row) if row is not None else None


def _revision(row: CharacterRevisionRow) -> CharacterRevision:
    return CharacterRevision(
        character_id=row.character_id,
        revision=row.revision,
        action=row.action,
        author_id=row.author_id,
        previous_text=row.previous_text,
        new_text=row.new_text,
        created_at=row.created_at,
    )
