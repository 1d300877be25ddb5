"""The sandbox's state and the pipeline every Bot API call goes through.

Pipeline: method lookup -> parameter decoding -> injected faults -> rate limits -> handler,
with every call recorded in the call log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from . import methods, methods_bot, methods_media, methods_payments  # noqa: F401  (register)
from .delivery import UpdateHub, UpdateIds
from .errors import ApiError, default_description, too_many_requests
from .limits import RateLimits
from .params import decode_params, loggable
from .registry import lookup
from .state import World

logger = logging.getLogger(__name__)

MAX_LOGGED_CALLS = 500_000


class Core:
    """Everything the Bot API handlers and the control API share."""

    def __init__(
        self,
        token: str,
        bot_username: str,
        bot_id: int,
        enforce_limits: bool,
        ids: UpdateIds | None = None,
    ) -> None:
        self.token = token
        self.world = World(
            {
                "id": bot_id,
                "is_bot": True,
                "first_name": "Sandbox Bot",
                "username": bot_username,
            }
        )
        self.hub = UpdateHub(self.execute_reply, ids)
        self.limits = RateLimits(enforce=enforce_limits)
        self.calls: deque[dict[str, Any]] = deque(maxlen=MAX_LOGGED_CALLS)
        self.faults: list[dict[str, Any]] = []
        self.closing = asyncio.Event()

    @property
    def bot_id(self) -> int:
        return int(self.world.bot["id"])

    @property
    def bot_username(self) -> str:
        return str(self.world.bot["username"])

    async def execute(self, method: str, raw: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one Bot API call; returns (HTTP status, JSON body)."""
        entry = lookup(method)
        record: dict[str, Any] = {
            "method": entry[0] if entry else method,
            "params": {},
            "status": None,
            "description": None,
            "at": time.monotonic(),
            "chat_id": None,
        }
        self.calls.append(record)
        try:
            if entry is None:
                record["params"] = loggable(raw)
                raise ApiError(404, "Not Found")
            params = decode_params(raw)
            record["params"] = loggable(params)
            chat_id = params.get("chat_id")
            record["chat_id"] = chat_id
            fault = self._take_fault(method.lower(), chat_id)
            if fault is not None and not fault.get("after"):
                await self._fail(fault)
            if isinstance(chat_id, int):
                chat = self.world.chats.get(chat_id)
                is_group = chat is not None and chat.type != "private"
                self.limits.check(method.lower(), chat_id, is_group)
            result = await entry[1](self, params)
            if fault is not None:  # done, but the bot is told it failed (the reply was lost)
                await self._fail(fault)
        except ApiError as exc:
            record["status"], record["description"] = exc.status, exc.description
            return exc.status, exc.body()
        except Exception:
            logger.exception("sandbox handler for %s failed", method)
            record["status"], record["description"] = 500, "Internal Server Error"
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        record["status"] = 200
        return 200, {"ok": True, "result": result}

    async def execute_reply(self, method: str, raw: dict[str, Any]) -> None:
        """A method call the bot returned in a webhook response."""
        status, body = await self.execute(method, raw)
        if status != 200:
            logger.info("webhook reply %s failed: %s", method, body.get("description"))

    def add_fault(self, fault: dict[str, Any]) -> None:
        self.faults.append(fault)

    def _take_fault(self, method: str, chat_id: Any) -> dict[str, Any] | None:
        for fault in self.faults:
            if fault["method"] != method:
                continue
            if fault.get("chat_id") is not None and fault["chat_id"] != chat_id:
                continue
            fault["times"] -= 1
            if fault["times"] <= 0:
                self.faults.remove(fault)
            return fault
        return None

    async def _fail(self, fault: dict[str, Any]) -> None:
        """Answer with the fault's error, after its delay (a bot that gives up sooner sees a
        time-out)."""
        if fault.get("delay"):
            await asyncio.sleep(float(fault["delay"]))
        raise self._fault_error(fault)

    @staticmethod
    def _fault_error(fault: dict[str, Any]) -> ApiError:
        status = int(fault["status"])
        if status == 429:
            retry_after = int(fault.get("retry_after") or 1)
            error = too_many_requests(retry_after)
            if fault.get("description"):
                error.description = str(fault["description"])
            return error
        return ApiError(status, str(fault.get("description") or default_description(status)))

    def push_update(self, payload: dict[str, Any], chat_key: int, *, raw: bool = False) -> int:
        return self.hub.push(payload, chat_key, raw=raw)

    async def reset(self) -> None:
        """Forget chats, users, files, calls, faults and pending updates; keep the webhook."""
        bot = self.world.bot
        for chat in self.world.chats.values():
            chat.notify()
        self.world = World(bot)
        self.calls.clear()
        self.faults.clear()
        self.limits.reset()
        await self.hub.reset()

    async def close(self) -> None:
        self.closing.set()
        for chat in self.world.chats.values():
            chat.notify()
        await self.hub.close()
