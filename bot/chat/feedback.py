"""Votes on answers: one per user and answer; voting again replaces the earlier vote."""

from __future__ import annotations

from enum import StrEnum

from bot.storage.uow import UnitOfWorkFactory

VOTES = (1, -1)


class VoteOutcome(StrEnum):
    RECORDED = "recorded"  # the user's first vote on this answer
    CHANGED = "changed"  # replaced an opposite vote
    UNCHANGED = "unchanged"  # the same vote again
    UNKNOWN_ANSWER = "unknown_answer"  # no such answer in this chat


class FeedbackService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def vote(self, chat_id: int, message_id: int, user_id: int, value: int) -> VoteOutcome:
        if value not in VOTES:
            raise ValueError(f"a vote is +1 or -1, not {value}")
        async with self._uow() as uow:
            # An answer can only be rated from the chat it was given in.
            if await uow.messages.chat_id_of(message_id) != chat_id:
                return VoteOutcome.UNKNOWN_ANSWER
            previous = await uow.feedback.set(message_id, user_id, value)
            await uow.commit()
        if previous is None:
            return VoteOutcome.RECORDED
        return VoteOutcome.UNCHANGED if previous == value else VoteOutcome.CHANGED
