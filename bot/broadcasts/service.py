"""Broadcast drafts, their start, and users' choice to receive them or not."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.broadcasts.content import BroadcastContent
from bot.broadcasts.runner import BroadcastRunner
from bot.storage.dto import Broadcast, BroadcastState
from bot.storage.uow import UnitOfWorkFactory


class BroadcastService:
    def __init__(self, uow: UnitOfWorkFactory, runner: BroadcastRunner) -> None:
        self._uow = uow
        self.runner = runner

    async def draft(self, author_id: int, content: BroadcastContent) -> tuple[int, int]:
        """A draft (for the preview) and how many users it would reach now."""
        async with self._uow() as uow:
            broadcast_id = await uow.broadcasts.create(author_id, content.to_json())
            audience = await uow.broadcasts.audience()
            await uow.commit()
        return broadcast_id, audience

    async def send(self, broadcast_id: int, progress_message_id: int | None) -> int | None:
        """Confirm a draft: its recipients are fixed and sending starts. None when it is not
        a draft any more (sent or cancelled already: a second press)."""
        async with self._uow() as uow:
            recipients = await uow.broadcasts.start(broadcast_id, progress_message_id)
            broadcast = await uow.broadcasts.get(broadcast_id)
            await uow.commit()
        if broadcast is None or broadcast.state is not BroadcastState.SENDING:
            return None
        if recipients == 0 and not await self._has_recipients(broadcast):
            return None
        self.runner.start(broadcast)
        return recipients

    async def cancel(self, broadcast_id: int) -> bool:
        async with self._uow() as uow:
            broadcast = await uow.broadcasts.get(broadcast_id)
            if broadcast is None or broadcast.state is not BroadcastState.DRAFT:
                return False
            await uow.broadcasts.finish(broadcast_id, BroadcastState.CANCELLED, datetime.now(UTC))
            await uow.commit()
        return True

    async def _has_recipients(self, broadcast: Broadcast) -> bool:
        async with self._uow(read_only=True) as uow:
            return bool(await uow.broadcasts.counts(broadcast.id))

    async def set_unsubscribed(self, user_id: int, unsubscribed: bool) -> None:
        async with self._uow() as uow:
            await uow.users.set_unsubscribed(user_id, unsubscribed)
            await uow.commit()

    async def is_unsubscribed(self, user_id: int) -> bool:
        async with self._uow(read_only=True) as uow:
            return await uow.users.is_unsubscribed(user_id)

    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        """Telegram reported that the user blocked (or unblocked) the bot."""
        async with self._uow() as uow:
            await uow.users.set_blocked(user_id, datetime.now(UTC) if blocked else None)
            await uow.commit()
