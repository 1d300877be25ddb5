"""Keep each chat's updates in order, drop repeats seen recently, merge split pastes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.chat.inputs import UserInput
from bot.chat.ordering import ChatLocks, PasteMerger
from bot.middlewares.dedupe import Keep
from bot.telegram.updates import RAW_KEY, mark

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
REDELIVERED_KEY = "update_redelivered"
"""Middleware data: the queue hands this update over again (its first handling may have been
cut short in this very process), so the memory of recent ids must not drop it; the
database's record still does when it was handled."""


class RecentUpdates:
    """A bounded memory of update ids, checked without awaiting (so order is not disturbed)."""

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._size = size

    def check_and_add(self, update_id: int) -> bool:
        """True if the id was already seen."""
        if update_id in self._ids:
            return True
        self._ids[update_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return False


class OrderingMiddleware(BaseMiddleware):
    def __init__(self, locks: ChatLocks, merger: PasteMerger, keep: Keep | None = None) -> None:
        """`keep`: see DedupeMiddleware (a part joined to a deferred turn is kept too)."""
        self._locks = locks
        self._merger = merger
        self._keep = keep
        self._recent = RecentUpdates()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        # Nothing above the lock may await: tasks reach this point in arrival order.
        if not isinstance(event, Update):  # registered on dispatcher.update only
            return await handler(event, data)
        # A redelivery is left to the database's record (DedupeMiddleware).
        if not data.get(REDELIVERED_KEY) and self._recent.check_and_add(event.update_id):
            return None
        key = _chat_key(event)
        if key is None or is_control_update(event):
            return await handler(event, data)
        async with self._locks.hold(key):
            # Under the lock, so a part that arrived in the same batch as the first one still
            # sees the turn that the first part's handler deferred.
            continuation = _continuation(event, data.get(RAW_KEY))
            if continuation is not None and self._merger.try_append(continuation):
                if self._keep is not None:
                    await self._keep(event)
                return None
            await self._merger.flush(key, _user_id(event))
            return await handler(event, data)


CONTROL_COMMANDS = ("/stop",)
CONTROL_CALLBACK_PREFIX = "stop:"


def is_control_update(update: Update) -> bool:
    """Stop controls and payments must reach a chat that is busy answering, so they skip
    its lock."""
    if update.stopped_message_generation is not None:
        return True
    if update.pre_checkout_query is not None:
        return True  # Telegram waits 10 s for the answer; it must not queue behind a chat
    message = update.message
    if message is not None and (message.successful_payment or message.refunded_payment):
        return True  # credited at once, not after the answer the chat may be streaming
    query = update.callback_query
    if query is not None and (query.data or "").startswith(CONTROL_CALLBACK_PREFIX):
        return True
    text = update.message.text if update.message is not None else None
    words = (text or "").split(maxsplit=1)
    return bool(words) and words[0].split("@", 1)[0].lower() in CONTROL_COMMANDS


def _chat_key(update: Update) -> int | None:
    if update.message is not None:
        return update.message.chat.id
    if update.callback_query is not None:
        message = update.callback_query.message
        return message.chat.id if message is not None else update.callback_query.from_user.id
    if update.stopped_message_generation is not None:
        return update.stopped_message_generation.chat.id
    return None


def _user_id(update: Update) -> int | None:
    if update.message is not None and update.message.from_user is not None:
        return update.message.from_user.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    return None


def _continuation(update: Update, raw: dict[str, Any] | None) -> UserInput | None:
    """What a message could add to a deferred turn: plain text (a split paste) or a photo of
    an album."""
    message = update.message
    if message is None or message.from_user is None:
        return None
    if message.media_group_id is not None and message.photo:
        return UserInput(
            chat_id=message.chat.id,
            user_id=message.from_user.id,
            text=message.caption or "",
            message_id=message.message_id,
            updates=(mark(update, raw),),
            album_id=message.media_group_id,
            attachment_refs=(message.photo[-1].file_id,),
        )
    if message.text is None or message.text.startswith("/"):
        return None
    return UserInput(
        chat_id=message.chat.id,
        user_id=message.from_user.id,
        text=message.text,
        message_id=message.message_id,
        updates=(mark(update, raw),),
    )
