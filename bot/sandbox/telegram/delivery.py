"""Getting updates to the bot: real long polling and webhook delivery.

Webhook delivery mirrors Telegram: at most one update per chat in flight (the next one waits
for the HTTP response to the previous), at most ``max_connections`` in flight overall, and
failed deliveries retried with backoff without breaking the order within a chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp

from .errors import CONFLICT_OTHER_POLL, CONFLICT_WEBHOOK, ApiError
from .params import read_multipart
from .state import now_unix

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
        "stopped_message_generation",
        "subscription",
    }
)
DEFAULT_UPDATES = UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}

Executor = Callable[[str, dict[str, Any]], Awaitable[Any]]
Queued = tuple[dict[str, Any], int]


def update_type(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def allowed_set(allowed: Any) -> frozenset[str]:
    if not isinstance(allowed, list) or not allowed:
        return DEFAULT_UPDATES
    return frozenset(str(item) for item in allowed)


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None


def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "Connection refused"
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "Read timeout expired"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


async def _read_reply(resp: aiohttp.ClientResponse) -> dict[str, Any] | None:
    """A method call in the webhook response body (JSON, multipart or urlencoded), if any."""
    content_type = resp.content_type
    raw: Any
    if content_type == "multipart/form-data":
        raw = await read_multipart(aiohttp.MultipartReader(resp.headers, resp.content))
    elif content_type == "application/x-www-form-urlencoded":
        raw = dict(parse_qsl(await resp.text()))
    else:
        text = await resp.text()
        try:
            raw = json.loads(text) if text.strip() else None
        except ValueError:
            return None
    if isinstance(raw, dict) and isinstance(raw.get("method"), str):
        return raw
    return None


class WebhookDelivery:
    """Pushes updates to one webhook URL."""

    def __init__(self, config: WebhookConfig, execute: Executor) -> None:
        self.config = config
        self._execute = execute
        self._queues: dict[int, deque[dict[str, Any]]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(max(1, config.max_connections))
        self._session: aiohttp.ClientSession | None = None
        self.pending = 0
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None

    def push(self, update: dict[str, Any], chat_key: int) -> None:
        self._queues.setdefault(chat_key, deque()).append(update)
        self.pending += 1
        if chat_key not in self._workers:
            self._workers[chat_key] = asyncio.create_task(self._run(chat_key))

    async def _run(self, chat_key: int) -> None:
        queue = self._queues[chat_key]
        while queue:
            await self._deliver(queue[0])
            queue.popleft()
            self.pending -= 1
        del self._queues[chat_key]
        del self._workers[chat_key]

    async def _deliver(self, update: dict[str, Any]) -> None:
        for attempt in itertools.count():
            async with self._slots:
                delivered, reply = await self._post(update)
            if delivered:
                if reply is not None:
                    method = str(reply.pop("method"))
                    await self._execute(method, reply)
                return
            await asyncio.sleep(min(FIRST_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY))

    async def _post(self, update: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        headers = {"Content-Type": "application/json"}
        if self.config.secret_token:
            headers[SECRET_HEADER] = self.config.secret_token
        try:
            async with self._session.post(
                self.config.url, data=json.dumps(update), headers=headers
            ) as resp:
                if 200 <= resp.status < 300:
                    return True, await _read_reply(resp)
                self._failed(f"Wrong response from the webhook: {resp.status} {resp.reason}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._failed(_describe_failure(exc))
        return False, None

    def _failed(self, message: str) -> None:
        logger.debug("webhook delivery failed: %s", message)
        self.last_error_date = now_unix()
        self.last_error_message = message

    async def close(self) -> list[Queued]:
        """Stop delivering; return the undelivered updates in order."""
        current = asyncio.current_task()
        workers = [task for task in self._workers.values() if task is not current]
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        left = [(update, key) for key, queue in self._queues.items() for update in queue]
        self._queues.clear()
        self._workers.clear()
        self.pending = 0
        if self._session is not None:
            await self._session.close()
            self._session = None
        return sorted(left, key=lambda item: int(item[0]["update_id"]))


@dataclass
class _Poll:
    event: asyncio.Event
    conflict: bool = False


class UpdateIds:
    """Update ids, increasing across restarts when `path` names a file to keep them in.

    Like Telegram, a restarted sandbox goes on from where it was, so a bot that remembers the
    ids it handled (on the same database) does not take new updates for old ones. Ids are
    leased in blocks, so the file is written once per `block` updates; a crash skips ahead.
    """

    FIRST = 100_000_001

    def __init__(self, path: Path | None = None, block: int = 1000) -> None:
        self._path = path
        self._block = block
        self._next = self.FIRST
        self._leased = 0
        if path is not None and path.is_file():
            with contextlib.suppress(ValueError, OSError):
                self._next = max(self.FIRST, int(path.read_text(encoding="utf-8").strip()))
                self._leased = self._next

    def take(self) -> int:
        value = self._next
        self._next += 1
        if self._path is not None and self._next > self._leased:
            self._leased = self._next + self._block
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._path.with_suffix(".tmp")
            temporary.write_text(f"{self._leased}\n", encoding="utf-8")
            temporary.replace(self._path)
        return value


class UpdateHub:
    """The bot's update stream: a long-polling queue, or a webhook when one is set."""

    def __init__(self, execute: Executor, ids: UpdateIds | None = None) -> None:
        self._execute = execute
        self._queue: deque[Queued] = deque()
        self._ids = ids or UpdateIds()
        self._allowed = DEFAULT_UPDATES
        self._poll: _Poll | None = None
        self._closing = False
        self.webhook: WebhookDelivery | None = None

    def push(self, payload: dict[str, Any], chat_key: int, *, raw: bool = False) -> int:
        """Queue an update (``payload`` without update_id); returns its update_id. A `raw`
        update is delivered whatever its type (tests send malformed ones)."""
        update_id = self._ids.take()
        update = {"update_id": update_id, **payload}
        if not raw and update_type(update) not in self._allowed:
            logger.debug("update %s dropped: not in allowed_updates", update_id)
            return update_id
        if self.webhook is not None:
            self.webhook.push(update, chat_key)
        else:
            self._queue.append((update, chat_key))
            self._wake()
        return update_id

    def _wake(self) -> None:
        if self._poll is not None:
            self._poll.event.set()

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset > 0:
            while self._queue and self._queue[0][0]["update_id"] < offset:
                self._queue.popleft()
        else:
            while len(self._queue) > -offset:
                self._queue.popleft()

    async def get_updates(
        self, offset: int | None, limit: int | None, wait_seconds: int | None, allowed: Any
    ) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        if allowed is not None:
            self._allowed = allowed_set(allowed)
        self._confirm(offset)
        limit = min(max(limit or 100, 1), 100)
        if self._poll is not None:
            self._poll.conflict = True
            self._poll.event.set()
        poll = self._poll = _Poll(asyncio.Event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(wait_seconds or 0, 0)
        try:
            while True:
                if poll.conflict:
                    raise ApiError(409, CONFLICT_OTHER_POLL)
                if self.webhook is not None:
                    raise ApiError(409, CONFLICT_WEBHOOK)
                remaining = deadline - loop.time()
                if self._queue or self._closing or remaining <= 0:
                    return [update for update, _ in itertools.islice(self._queue, limit)]
                poll.event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poll.event.wait(), remaining)
        finally:
            if self._poll is poll:
                self._poll = None

    async def set_webhook(self, config: WebhookConfig, *, drop_pending: bool, allowed: Any) -> None:
        if allowed is not None:
            self._allowed = allowed_set(allowed)
        left = await self._take_pending()
        self.webhook = WebhookDelivery(config, self._execute)
        if not drop_pending:
            for update, key in left:
                self.webhook.push(update, key)
        self._wake()

    async def delete_webhook(self, *, drop_pending: bool) -> None:
        left = await self._take_pending()
        self.webhook = None
        if not drop_pending:
            self._queue.extend(left)

    async def _take_pending(self) -> list[Queued]:
        if self.webhook is not None:
            return await self.webhook.close()
        left = list(self._queue)
        self._queue.clear()
        return left

    def webhook_info(self) -> dict[str, Any]:
        hook = self.webhook
        if hook is None:
            return {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._queue),
            }
        info: dict[str, Any] = {
            "url": hook.config.url,
            "has_custom_certificate": False,
            "pending_update_count": hook.pending,
            "max_connections": hook.config.max_connections,
            "ip_address": "127.0.0.1",
        }
        if self._allowed != DEFAULT_UPDATES:
            info["allowed_updates"] = sorted(self._allowed)
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        return info

    async def reset(self) -> None:
        """Forget every pending update; keep the webhook setting."""
        self._queue.clear()
        if self.webhook is not None:
            config = self.webhook.config
            await self.webhook.close()
            self.webhook = WebhookDelivery(config, self._execute)

    async def close(self) -> None:
        self._closing = True
        self._wake()
        if self.webhook is not None:
            await self.webhook.close()
