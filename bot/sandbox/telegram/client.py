"""Async client for the sandbox's ``/sandbox/`` control API (for tests and benchmarks)."""

from __future__ import annotations

import base64
import json
from types import TracebackType
from typing import Any, Self

import aiohttp


class SandboxError(RuntimeError):
    """The control API refused a request."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


class SandboxClient:
    """Plays the users of a bot against a running TelegramSandbox, over HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        accept: tuple[int, ...] = (200,),
        request_timeout: float | None = None,
    ) -> tuple[int, Any]:
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        limit = aiohttp.ClientTimeout(total=request_timeout) if request_timeout else None
        async with self._http().request(
            method, f"{self.base_url}{path}", json=body, params=params, timeout=limit
        ) as resp:
            data = json.loads(await resp.text() or "null")
            if resp.status not in accept:
                description = data.get("description") if isinstance(data, dict) else data
                raise SandboxError(resp.status, str(description))
            return resp.status, data

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return (await self._request("POST", path, body=body))[1]

    async def _get(self, path: str, **query: Any) -> Any:
        return (await self._request("GET", path, query=query))[1]

    @staticmethod
    def _user(
        user_id: int,
        first_name: str | None,
        language_code: str | None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """A user object; fields left out keep what the sandbox already knows of the user."""
        user: dict[str, Any] = {"id": user_id}
        if first_name is not None:
            user["first_name"] = first_name
        if language_code is not None:
            user["language_code"] = language_code
        if username is not None:
            user["username"] = username
        return user

    async def send(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Test",
        language_code: str | None = "en",
        chat: dict[str, Any] | None = None,
        reply_to_message_id: int | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """A user writes ``text``; returns the created message (Bot API form)."""
        body: dict[str, Any] = {
            "user": self._user(user_id, first_name, language_code, username),
            "text": text,
        }
        if chat is not None:
            body["chat"] = chat
        if reply_to_message_id is not None:
            body["reply_to_message_id"] = reply_to_message_id
        result: dict[str, Any] = (await self._post("/sandbox/send", body))["message"]
        return result

    async def send_photo(
        self,
        user_id: int,
        image: bytes,
        *,
        caption: str | None = None,
        chat: dict[str, Any] | None = None,
        language_code: str | None = "en",
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user": self._user(user_id, None, language_code),
            "image_b64": base64.b64encode(image).decode(),
            "caption": caption,
            "chat": chat,
            "media_group_id": media_group_id,
        }
        result: dict[str, Any] = (await self._post("/sandbox/send_photo", body))["message"]
        return result

    async def send_document(
        self,
        user_id: int,
        content: bytes,
        file_name: str,
        mime_type: str,
        *,
        caption: str | None = None,
        chat: dict[str, Any] | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "user": self._user(user_id, None, language_code),
            "content_b64": base64.b64encode(content).decode(),
            "file_name": file_name,
            "mime_type": mime_type,
            "caption": caption,
            "chat": chat,
        }
        result: dict[str, Any] = (await self._post("/sandbox/send_document", body))["message"]
        return result

    async def send_voice(
        self,
        user_id: int,
        content: bytes,
        *,
        kind: str = "voice",
        duration: float | None = None,
        file_name: str | None = None,
        caption: str | None = None,
        chat: dict[str, Any] | None = None,
        reply_to_message_id: int | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """A voice message (or ``kind`` "audio", "video_note"); ``duration`` is what Telegram
        reports (default: read from the file)."""
        body: dict[str, Any] = {
            "user": self._user(user_id, None, language_code),
            "kind": kind,
            "content_b64": base64.b64encode(content).decode(),
            "duration": duration,
            "file_name": file_name,
            "caption": caption,
            "chat": chat,
            "reply_to_message_id": reply_to_message_id,
        }
        result: dict[str, Any] = (await self._post("/sandbox/send_voice", body))["message"]
        return result

    async def press(self, user_id: int, chat_id: int, message_id: int, data: str) -> dict[str, Any]:
        """Press the inline button with ``data``; returns update_id and callback_query_id."""
        body = {
            "user": {"id": user_id},
            "chat_id": chat_id,
            "message_id": message_id,
            "data": data,
        }
        result: dict[str, Any] = await self._post("/sandbox/press", body)
        return result

    async def stop_generation(self, user_id: int, chat_id: int, draft_id: int) -> dict[str, Any]:
        body = {
            "user": {"id": user_id},
            "chat_id": chat_id,
            "draft_id": draft_id,
        }
        result: dict[str, Any] = await self._post("/sandbox/stop_generation", body)
        return result

    async def group(
        self, chat: dict[str, Any], admins: list[int], members: list[int] | None = None
    ) -> None:
        await self._post(
            "/sandbox/group", {"chat": chat, "admins": admins, "members": members or []}
        )

    async def transcript(self, chat_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get(f"/sandbox/chats/{chat_id}/transcript")
        return result

    async def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Non-deleted messages the bot sent to the chat, oldest first."""
        return [m for m in await self.transcript(chat_id) if m["from_bot"] and not m["deleted"]]

    async def drafts(self, chat_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get(f"/sandbox/chats/{chat_id}/drafts")
        return result

    async def actions(self, chat_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get(f"/sandbox/chats/{chat_id}/actions")
        return result

    async def calls(
        self, method: str | None = None, chat_id: int | None = None
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get(
            "/sandbox/calls", method=method, chat_id=chat_id
        )
        return result

    async def clear_calls(self) -> None:
        await self._request("DELETE", "/sandbox/calls")

    async def fault(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
        delay: float = 0.0,
        after: bool = False,
    ) -> None:
        """Make the next ``times`` matching Bot API calls fail with ``status``, after
        ``delay`` seconds (a bot that gives up sooner sees a time-out); with ``after`` the
        call is carried out and only its reply is lost."""
        await self._post(
            "/sandbox/faults",
            {
                "method": method,
                "status": status,
                "description": description,
                "retry_after": retry_after,
                "times": times,
                "chat_id": chat_id,
                "delay": delay,
                "after": after,
            },
        )

    async def raw_update(self, update: dict[str, Any], chat_id: int = 0) -> int:
        """Deliver any JSON object as the next update (malformed ones included)."""
        result = await self._post("/sandbox/raw_update", {"update": update, "chat_id": chat_id})
        return int(result["update_id"])

    async def wait_bot_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109  (the wait happens server-side)
    ) -> list[dict[str, Any]]:
        """Wait until the chat has ``count`` bot messages; TimeoutError shows the transcript."""
        status, data = await self._request(
            "GET",
            "/sandbox/wait",
            query={"chat_id": chat_id, "bot_messages": count, "timeout": timeout},
            accept=(200, 408),
            request_timeout=timeout + 30,
        )
        if status == 408:
            history = json.dumps(data.get("transcript"), ensure_ascii=False, indent=1)
            raise TimeoutError(
                f"chat {chat_id}: fewer than {count} bot messages after {timeout}s; "
                f"transcript:\n{history}"
            )
        result: list[dict[str, Any]] = data["bot_messages"]
        return result

    async def info(self) -> dict[str, Any]:
        """The bot, the webhook (``pending_update_count``: updates not yet taken), chats."""
        result: dict[str, Any] = await self._get("/sandbox/info")
        return result

    async def commands(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._get("/sandbox/commands")
        return result

    async def callbacks(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._get("/sandbox/callbacks", chat_id=chat_id)
        return result

    async def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._get("/sandbox/limits")
        return result

    async def set_limits(self, enforce: bool, *, global_per_second: int | None = None) -> None:
        body: dict[str, Any] = {"enforce": enforce}
        if global_per_second is not None:
            body["global_per_second"] = global_per_second
        await self._post("/sandbox/limits", body)

    async def create_users(self, users: list[dict[str, Any]]) -> None:
        """Users with a private chat with the bot, created without any update."""
        await self._post("/sandbox/users", {"users": users})

    async def reset(self) -> None:
        await self._post("/sandbox/reset", {})

    async def pay(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
        link: str | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """The user pays an invoice (a message or a link): pre-checkout, then the payment.
        ``overrides``: payload, total_amount, currency, deadline, subscription_expiration_date,
        deliveries (see the control API)."""
        body: dict[str, Any] = {"user": {"id": user_id}, **overrides}
        if link is not None:
            body["link"] = link
        else:
            body.update(chat_id=chat_id, message_id=message_id)
        deadline = float(overrides.get("deadline", 10))
        _, data = await self._request(
            "POST", "/sandbox/pay", body=body, request_timeout=deadline + 30
        )
        result: dict[str, Any] = data
        return result

    async def renew(
        self, user_id: int, charge_id: str, *, fail: bool = False, **overrides: Any
    ) -> dict[str, Any]:
        """Telegram renews (or fails to renew) a subscription."""
        body = {"user_id": user_id, "charge_id": charge_id, "fail": fail, **overrides}
        result: dict[str, Any] = await self._post("/sandbox/renew", body)
        return result

    async def subscription_state(self, user_id: int, charge_id: str, state: str) -> dict[str, Any]:
        """The user cancels ("canceled") or resumes ("active") a subscription in Telegram."""
        body = {"user_id": user_id, "charge_id": charge_id, "state": state}
        result: dict[str, Any] = await self._post("/sandbox/subscription_state", body)
        return result

    async def telegram_refund(self, charge_id: str) -> dict[str, Any]:
        """Telegram refunds a payment itself (after a dispute)."""
        result: dict[str, Any] = await self._post("/sandbox/refund", {"charge_id": charge_id})
        return result

    async def payments(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._get("/sandbox/payments")
        return result
