"""The ``/sandbox/`` control API (JSON) and the web chat page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from . import users
from .core import Core
from .errors import ApiError, bad_request
from .methods_media import image_mime

CORE_KEY = web.AppKey("sandbox_core", Core)
PAGE_KEY = web.AppKey("sandbox_page", str)

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def load_page() -> str:
    return resources.files(__package__).joinpath("static/chat.html").read_text(encoding="utf-8")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda obj: json.dumps(obj, default=str))


@web.middleware
async def control_errors(request: web.Request, handler: Route) -> web.StreamResponse:
    """Turn ApiError raised by a control route into ``{"ok": false, "description": ...}``."""
    try:
        return await handler(request)
    except ApiError as exc:
        if not request.path.startswith("/sandbox/"):
            raise
        return _json({"ok": False, "description": exc.description}, exc.status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.body_exists else {}
    except ValueError:
        raise bad_request("request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body


def _core(request: web.Request) -> Core:
    return request.app[CORE_KEY]


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer") from None


def _chat(request: web.Request) -> Any:
    chat = _core(request).world.chats.get(_int(request.match_info["chat_id"], "chat_id"))
    if chat is None:
        raise ApiError(404, "chat not found")
    return chat


def _action(func: Callable[[Core, dict[str, Any]], dict[str, Any]]) -> Route:
    async def route(request: web.Request) -> web.StreamResponse:
        return _json(func(_core(request), await _body(request)))

    return route


def _async_action(func: Callable[[Core, dict[str, Any]], Awaitable[dict[str, Any]]]) -> Route:
    async def route(request: web.Request) -> web.StreamResponse:
        return _json(await func(_core(request), await _body(request)))

    return route


async def transcript(request: web.Request) -> web.StreamResponse:
    return _json([message.transcript() for message in _chat(request).messages.values()])


async def drafts(request: web.Request) -> web.StreamResponse:
    return _json(_chat(request).drafts)


async def actions(request: web.Request) -> web.StreamResponse:
    return _json(_chat(request).actions)


async def chat_state(request: web.Request) -> web.StreamResponse:
    """Everything the web page needs for one chat, in one request."""
    chat = _chat(request)
    core = _core(request)
    answers = [
        {"id": q.id, "message_id": q.message_id, "data": q.data, **q.answer}
        for q in core.world.callbacks.values()
        if q.chat_id == chat.id and q.answer is not None
    ]
    return _json(
        {
            "chat": chat.info,
            "transcript": [message.transcript() for message in chat.messages.values()],
            "draft": chat.drafts[-1] if chat.drafts else None,
            "action": chat.actions[-1] if chat.actions else None,
            "answers": answers[-5:],
            "now": time.monotonic(),
        }
    )


async def transcript_markdown(request: web.Request) -> web.StreamResponse:
    """The chat as a Markdown file (the page's "export transcript" link)."""
    chat = _chat(request)
    lines = [
        f"# Sandbox chat {chat.id}: {chat.info.get('title') or chat.info.get('first_name', '')}"
    ]
    for message in chat.messages.values():
        entry = message.transcript()
        who = "bot" if entry["from_bot"] else f"user {entry['user_id']}"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry["date"]))
        notes = []
        if entry.get("photo"):
            notes.append("[photo]")
        if entry.get("document"):
            notes.append(f"[file: {entry['document'].get('file_name') or 'document'}]")
        if entry.get("deleted"):
            notes.append("[deleted]")
        body = "\n".join([*notes, entry.get("text") or ""]).strip()
        lines.append(f"\n## #{entry['message_id']} {who}, {stamp} UTC\n\n{body}")
    return web.Response(
        text="\n".join(lines) + "\n",
        content_type="text/markdown",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="sandbox-chat-{chat.id}.md"'},
    )


async def chats(request: web.Request) -> web.StreamResponse:
    return _json(
        [
            {**chat.info, "messages": len(chat.messages), "bot_messages": chat.bot_messages}
            for chat in _core(request).world.chats.values()
        ]
    )


async def calls(request: web.Request) -> web.StreamResponse:
    method = (request.query.get("method") or "").lower()
    chat_id = request.query.get("chat_id")
    wanted = _int(chat_id, "chat_id") if chat_id else None
    return _json(
        [
            call
            for call in _core(request).calls
            if (not method or call["method"].lower() == method)
            and (wanted is None or call["chat_id"] == wanted)
        ]
    )


async def clear_calls(request: web.Request) -> web.StreamResponse:
    _core(request).calls.clear()
    return _json({"ok": True})


async def add_fault(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    method = body.get("method")
    if not isinstance(method, str) or not method:
        raise bad_request("method is required")
    status = _int(body.get("status", 400), "status")
    if not 400 <= status <= 599:
        raise bad_request("status must be an HTTP error status")
    fault = {
        "method": method.lower(),
        "chat_id": body.get("chat_id"),
        "status": status,
        "description": body.get("description"),
        "retry_after": body.get("retry_after"),
        "times": max(1, _int(body.get("times", 1), "times")),
        "delay": _seconds(body.get("delay", 0), "delay"),
        "after": bool(body.get("after", False)),
    }
    _core(request).add_fault(fault)
    return _json({"ok": True, "fault": fault})


def _seconds(value: Any, name: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be a number of seconds") from None
    if not 0 <= seconds <= 600:
        raise bad_request(f"{name} must be between 0 and 600 seconds")
    return seconds


async def raw_update(request: web.Request) -> web.StreamResponse:
    """Deliver ``update`` (any JSON object, valid or not) as the next update, as it is."""
    body = await _body(request)
    update = body.get("update")
    if not isinstance(update, dict):
        raise bad_request("update must be a JSON object")
    chat_key = body.get("chat_id", 0)
    update_id = _core(request).push_update(
        {k: v for k, v in update.items() if k != "update_id"},
        _int(chat_key, "chat_id"),
        raw=True,
    )
    return _json({"ok": True, "update_id": update_id})


async def list_faults(request: web.Request) -> web.StreamResponse:
    return _json(_core(request).faults)


async def clear_faults(request: web.Request) -> web.StreamResponse:
    _core(request).faults.clear()
    return _json({"ok": True})


async def set_limits(request: web.Request) -> web.StreamResponse:
    """Turn enforcement on or off; `global_per_second` sets the overall limit (default 30)."""
    body = await _body(request)
    limits = _core(request).limits
    limits.enforce = bool(body.get("enforce"))
    if body.get("global_per_second") is not None:
        rate = body["global_per_second"]
        if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= 1000:
            raise bad_request("global_per_second must be an integer of 1 to 1000")
        limits.global_per_second = rate
        limits.reset()
    return _json(
        {"ok": True, "enforce": limits.enforce, "global_per_second": limits.global_per_second}
    )


async def create_users(request: web.Request) -> web.StreamResponse:
    """Users who have a private chat with the bot already (no update is sent): a bot with an
    audience, for broadcasts. Body: {"users": [{"id": ..., "first_name": ...}, ...]}."""
    body = await _body(request)
    users = body.get("users")
    if not isinstance(users, list) or not all(isinstance(u, dict) for u in users):
        raise bad_request("users must be a list of user objects")
    world = _core(request).world
    for raw in users:
        world.private_chat(world.remember_user(raw))
    return _json({"ok": True, "created": len(users)})


async def get_limits(request: web.Request) -> web.StreamResponse:
    limits = _core(request).limits
    return _json({"enforce": limits.enforce, "rejections": limits.rejections})


async def commands(request: web.Request) -> web.StreamResponse:
    result: dict[str, dict[str, Any]] = {}
    for (scope, language), items in _core(request).world.commands.items():
        result.setdefault(scope, {})[language] = items
    return _json(result)


async def callbacks(request: web.Request) -> web.StreamResponse:
    chat_id = request.query.get("chat_id")
    wanted = _int(chat_id, "chat_id") if chat_id else None
    return _json(
        [
            vars(query)
            for query in _core(request).world.callbacks.values()
            if wanted is None or query.chat_id == wanted
        ]
    )


async def payments(request: web.Request) -> web.StreamResponse:
    return _json(_core(request).world.payments.snapshot())


async def invoice(request: web.Request) -> web.StreamResponse:
    """One invoice (``?link=`` or ``?chat_id=&message_id=``): the page's payment form reads
    the fields it asks for (``form_fields``)."""
    query = request.query
    found = _core(request).world.payments.find_invoice(
        query.get("link"), query.get("chat_id"), query.get("message_id")
    )
    return _json(found.snapshot())


async def reset(request: web.Request) -> web.StreamResponse:
    await _core(request).reset()
    return _json({"ok": True})


async def info(request: web.Request) -> web.StreamResponse:
    core = _core(request)
    return _json(
        {
            "bot": core.world.bot,
            "webhook": core.hub.webhook_info(),
            "enforce_limits": core.limits.enforce,
            "chats": len(core.world.chats),
            "now": time.monotonic(),
        }
    )


async def wait(request: web.Request) -> web.StreamResponse:
    """Return once a chat has N (non-deleted) bot messages, or 408 after ``timeout``."""
    core = _core(request)
    chat_id = _int(request.query.get("chat_id"), "chat_id")
    count = _int(request.query.get("bot_messages", "1"), "bot_messages")
    timeout = float(request.query.get("timeout", "10"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        chat = core.world.chats.get(chat_id)
        bot_messages = (
            [m.transcript() for m in chat.messages.values() if m.from_bot and not m.deleted]
            if chat is not None and chat.bot_messages >= count
            else None
        )
        if bot_messages is not None:
            return _json({"ok": True, "bot_messages": bot_messages})
        remaining = deadline - loop.time()
        if remaining <= 0 or core.closing.is_set():
            history = [m.transcript() for m in chat.messages.values()] if chat else []
            return _json({"ok": False, "description": "timeout", "transcript": history}, 408)
        if chat is None:
            await asyncio.sleep(min(0.05, remaining))
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(chat.changed.wait(), min(remaining, 1.0))


async def file_bytes(request: web.Request) -> web.StreamResponse:
    """A stored file by file_id (for the web page, which does not know the bot token)."""
    stored = _core(request).world.files.get(request.match_info["file_id"])
    if stored is None:
        raise ApiError(404, "file not found")
    content_type = stored.mime_type or image_mime(stored.data)
    return web.Response(body=stored.data, content_type=content_type)


async def page(request: web.Request) -> web.StreamResponse:
    return web.Response(text=request.app[PAGE_KEY], content_type="text/html", charset="utf-8")


def add_routes(app: web.Application) -> None:
    add = app.router.add_route
    add("GET", "/", page)
    add("POST", "/sandbox/send", _action(users.send_text))
    add("POST", "/sandbox/send_photo", _action(users.send_photo))
    add("POST", "/sandbox/send_document", _action(users.send_document))
    add("POST", "/sandbox/send_voice", _action(users.send_recording))
    add("POST", "/sandbox/press", _action(users.press))
    add("POST", "/sandbox/stop_generation", _action(users.stop_generation))
    add("POST", "/sandbox/group", _action(users.declare_group))
    add("POST", "/sandbox/pay", _async_action(users.pay))
    add("POST", "/sandbox/renew", _action(users.renew))
    add("POST", "/sandbox/subscription_state", _action(users.subscription_state))
    add("POST", "/sandbox/refund", _action(users.refund))
    add("GET", "/sandbox/payments", payments)
    add("GET", "/sandbox/invoice", invoice)
    add("GET", "/sandbox/chats", chats)
    add("GET", "/sandbox/chats/{chat_id}/transcript", transcript)
    add("GET", "/sandbox/chats/{chat_id}/drafts", drafts)
    add("GET", "/sandbox/chats/{chat_id}/actions", actions)
    add("GET", "/sandbox/chats/{chat_id}/state", chat_state)
    add("GET", "/sandbox/chats/{chat_id}/transcript.md", transcript_markdown)
    add("GET", "/sandbox/calls", calls)
    add("DELETE", "/sandbox/calls", clear_calls)
    add("POST", "/sandbox/raw_update", raw_update)
    add("POST", "/sandbox/faults", add_fault)
    add("GET", "/sandbox/faults", list_faults)
    add("DELETE", "/sandbox/faults", clear_faults)
    add("POST", "/sandbox/limits", set_limits)
    add("POST", "/sandbox/users", create_users)
    add("GET", "/sandbox/limits", get_limits)
    add("GET", "/sandbox/commands", commands)
    add("GET", "/sandbox/callbacks", callbacks)
    add("POST", "/sandbox/reset", reset)
    add("GET", "/sandbox/info", info)
    add("GET", "/sandbox/files/{file_id}", file_bytes)
    add("GET", "/sandbox/wait", wait)
