"""Votes on answers: one per user and answer; voting again replaces the earlier vote."""

from __future__ import annotations

from enum import StrEnum

from bot.storage.database import Database
from bot.storage.uow import UnitOfWork

VOTES = (1, -1)


class VoteOutcome(StrEnum):
    RECORDED = "recorded"  # the user's first vote on this answer
    CHANGED = "changed"  # replaced an opposite vote
    UNCHANGED = "unchanged"  # the same vote again
    UNKNOWN_ANSWER = "unknown_answer"  # no such answer in this chat


class FeedbackService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def vote(self, chat_id: int, message_id: int, user_id: int, value: int) -> VoteOutcome:
        if value not in VOTES:
            raise ValueError(f"a vote is +1 or -1, not {value}")
        unknown = object()

        def vote(uow: UnitOfWork) -> int | object | None:
            # An answer can only be rated from the chat it was given in.
            if uow.messages.chat_id_of(message_id) != chat_id:
                return unknown
            return uow.feedback.set(message_id, user_id, value)

        previous = await self._db.write(vote)
        if previous is unknown:
            return VoteOutcome.UNKNOWN_ANSWER
        if previous is None:
            return VoteOutcome.RECORDED
        return VoteOutcome.UNCHANGED if previous == value else VoteOutcome.CHANGED
