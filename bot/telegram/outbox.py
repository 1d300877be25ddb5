"""The final messages of an answer as parts that can be stored (the outbox), and how each is
sent.

A part is a JSON object, committed with the turn before the first part is sent, so that a
restarted bot sends exactly what is left:

- ``send``: a new message (``text``, ``entities``, ``reply_to``, ``markup``);
- ``rich``: a rich message (``markdown``); text with entities if Telegram refuses it;
- ``edit``: a message of the answer shown while streaming gets its final text; if it cannot
  be edited (gone, too old, or edits keep failing) a new message takes its place and the old
  one is deleted;
- ``keep``: a message that already shows its final text;
- ``delete``: a message the answer no longer needs (a placeholder, a stale partial answer).

Sending a part returns the ids of the messages it became (none for ``delete``).

A process killed after Telegram took a ``send`` part but before its id was recorded leaves
that part looking undelivered; :meth:`PartSender.find_sent` looks for it before the
restarted bot sends it again.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, MessageEntity

from bot.chat.ports import DeliveryError
from bot.telegram.formatting import Chunk, render_markdown, render_plain
from bot.telegram.pacing import is_transient, retry_for
from bot.telegram.sender import MessageSender, is_not_modified

logger = logging.getLogger(__name__)

Part = dict[str, Any]
# A final edit is tried this long (5xx, time-outs) before the text goes out as a new message.
EDIT_BUDGET_SECONDS = 20.0
DELETE_BUDGET_SECONDS = 5.0
# How many message ids after the last known one find_sent tries (the user's own messages
# sent meanwhile take ids too).
PROBED_IDS = 10


def send_part(
    chunk: Chunk, *, reply_to: int | None = None, markup: InlineKeyboardMarkup | None = None
) -> Part:
    return {"op": "send", **_text(chunk), "reply_to": reply_to, "markup": _dump(markup)}


def rich_part(
    markdown: str, *, reply_to: int | None = None, markup: InlineKeyboardMarkup | None = None
) -> Part:
    return {"op": "rich", "markdown": markdown, "reply_to": reply_to, "markup": _dump(markup)}


def edit_part(
    message_id: int,
    chunk: Chunk,
    *,
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
) -> Part:
    """`reply_to`: what a replacement message replies to, if the edit cannot be made."""
    return {
        "op": "edit",
        "message_id": message_id,
        **_text(chunk),
        "reply_to": reply_to,
        "markup": _dump(markup),
    }


def keep_part(message_id: int) -> Part:
    return {"op": "keep", "message_id": message_id}


def delete_part(message_id: int) -> Part:
    return {"op": "delete", "message_id": message_id}


class PartSender:
    """Sends stored parts. Final calls are retried by the session's `DeliveryRetry`."""

    def __init__(
        self,
        bot: Bot,
        sender: MessageSender,
        *,
        edit_budget: float = EDIT_BUDGET_SECONDS,
    ) -> None:
        self._bot = bot
        self._sender = sender
        self._edit_budget = edit_budget

    async def __call__(self, chat_id: int, part: Part) -> list[int]:
        """Send one part; Telegram's errors become `DeliveryError` (permanent or not)."""
        try:
            return await self._send(chat_id, part)
        except TelegramAPIError as exc:
            raise DeliveryError(
                f"{type(exc).__name__}: {exc.message}", permanent=not is_transient(exc)
            ) from exc

    async def _send(self, chat_id: int, part: Part) -> list[int]:
        op = part["op"]
        if op == "keep":
            return [int(part["message_id"])]
        if op == "delete":
            await self.delete(chat_id, int(part["message_id"]))
            return []
        markup = _markup(part)
        reply_to = part.get("reply_to")
        if op == "rich":
            return await self._rich(chat_id, part["markdown"], reply_to, markup)
        chunk = _chunk(part)
        if op == "edit":
            return await self._edit(chat_id, int(part["message_id"]), chunk, markup, reply_to)
        if op == "send":
            return await self._sender.send_chunks(
                chat_id, [chunk], reply_to=reply_to, markup=markup
            )
        raise ValueError(f"unknown outbox part {op!r}")

    async def find_sent(self, chat_id: int, part: Part, after: int) -> list[int] | None:
        """The message a `send` part already became, if Telegram took it before a crash.

        Telegram has no way to read a message back, but editing one to exactly what it shows
        is refused as "not modified". The ids after `after` (the last id known in the chat)
        are tried in turn with the part's own text and markup: "not modified" is the part;
        "not found" means no message came after, so the part was never sent (None: send it);
        any other refusal ("can't be edited": the user's message; "no text": a picture) is
        another message, so the next id is tried. An edit that succeeds turned an unrecorded
        text message of the bot into the part, which is then where the part is. Other parts
        (edits, deletions, rich messages) are not looked for: edits and deletions may be made
        twice, rich messages are sent again."""
        if part["op"] != "send":
            return None
        chunk, markup = _chunk(part), _markup(part)
        for message_id in range(after + 1, after + 1 + PROBED_IDS):
            try:
                await self._sender.edit_text(chat_id, message_id, chunk, markup)
            except TelegramBadRequest as exc:
                if is_not_modified(exc):
                    return [message_id]
                if "not found" in exc.message:
                    return None
                continue
            except TelegramAPIError as exc:
                logger.warning("chat %s: sent messages not looked for: %s", chat_id, exc)
                return None
            logger.warning("chat %s: message %s now shows an unsent part", chat_id, message_id)
            return [message_id]
        return None

    async def delete(self, chat_id: int, message_id: int) -> None:
        """Best effort: a message that cannot be deleted stays (and is logged)."""
        try:
            with retry_for(DELETE_BUDGET_SECONDS):
                await self._bot.delete_message(chat_id=chat_id, message_id=message_id)
        except TelegramAPIError as exc:
            logger.warning("chat %s: message %s could not be deleted: %s", chat_id, message_id, exc)

    async def _rich(
        self,
        chat_id: int,
        markdown: str,
        reply_to: int | None,
        markup: InlineKeyboardMarkup | None,
    ) -> list[int]:
        sent = await self._sender.send_rich_piece(
            chat_id, markdown, reply_to=reply_to, markup=markup
        )
        if sent is not None:
            return [sent]
        chunks = render_markdown(markdown) or render_plain(markdown)
        return await self._sender.send_chunks(chat_id, chunks, reply_to=reply_to, markup=markup)

    async def _edit(
        self,
        chat_id: int,
        message_id: int,
        chunk: Chunk,
        markup: InlineKeyboardMarkup | None,
        reply_to: int | None,
    ) -> list[int]:
        try:
            with retry_for(self._edit_budget):
                extra = await self._sender.edit_chunk(chat_id, message_id, chunk, markup=markup)
            return [message_id, *extra]
        except TelegramBadRequest as exc:  # gone, too old, not the bot's...
            reason = exc.message
        except TelegramAPIError as exc:
            if not is_transient(exc):
                raise
            reason = f"{type(exc).__name__}: {exc.message}"
        logger.warning(
            "chat %s: message %s could not be edited (%s); sending the text as a new message",
            chat_id,
            message_id,
            reason,
        )
        ids = await self._sender.send_chunks(chat_id, [chunk], reply_to=reply_to, markup=markup)
        await self.delete(chat_id, message_id)
        return ids


def _text(chunk: Chunk) -> dict[str, Any]:
    entities = [e.model_dump(mode="json", exclude_none=True) for e in chunk.entities]
    return {"text": chunk.text, "entities": entities or None}


def _chunk(part: Part) -> Chunk:
    entities = [MessageEntity.model_validate(e) for e in part.get("entities") or ()]
    return Chunk(str(part["text"]), entities)


def _dump(markup: InlineKeyboardMarkup | None) -> dict[str, Any] | None:
    return markup.model_dump(mode="json", exclude_none=True) if markup is not None else None


def _markup(part: Part) -> InlineKeyboardMarkup | None:
    raw = part.get("markup")
    return InlineKeyboardMarkup.model_validate(raw) if raw else None
