"""The sandbox's control API and web page, driven over plain HTTP like a person or curl would."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox.telegram import SandboxClient, TelegramSandbox

TOKEN = "123456:sandbox-test-token"
USER = 777


@pytest.fixture
async def sandbox() -> AsyncIterator[TelegramSandbox]:
    server = TelegramSandbox(TOKEN, bot_username="helper_bot", bot_id=42)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http(sandbox: TelegramSandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sandbox.base_url) as session:
        yield session


async def call(
    http: aiohttp.ClientSession, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    async with http.post(f"/bot{TOKEN}/{method}", json=params) as resp:
        return resp.status, await resp.json()


async def test_page_is_served_and_self_contained(http: aiohttp.ClientSession) -> None:
    async with http.get("/") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        page = await resp.text()
    assert "/sandbox/press" in page
    assert "/sandbox/chats/" in page
    assert 'src="http' not in page
    assert 'href="http' not in page


async def test_json_body_and_query_parameters_are_accepted(http: aiohttp.ClientSession) -> None:
    async with http.post("/sandbox/send", json={"user": {"id": USER}, "text": "hi"}) as resp:
        assert resp.status == 200
    status, body = await call(
        http, "sendMessage", chat_id=USER, text="*json*", parse_mode="Markdown"
    )
    assert status == 200
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    query = {"chat_id": str(USER), "text": "from the query string"}
    async with http.get(f"/bot{TOKEN}/sendMessage", params=query) as resp:
        assert (await resp.json())["result"]["text"] == "from the query string"
    status, body = await call(http, "sendMessage", chat_id=USER)
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


async def test_chat_state_for_the_page(http: aiohttp.ClientSession) -> None:
    async with http.post("/sandbox/send", json={"user": {"id": USER}, "text": "hello"}) as resp:
        assert resp.status == 200
    await call(http, "sendChatAction", chat_id=USER, action="typing")
    await call(http, "sendMessageDraft", chat_id=USER, draft_id=5, text="Wor")
    async with http.get(f"/sandbox/chats/{USER}/state") as resp:
        state = await resp.json()
    assert [m["text"] for m in state["transcript"]] == ["hello"]
    assert state["draft"]["text"] == "Wor"
    assert state["action"]["action"] == "typing"
    assert state["now"] >= state["draft"]["at"]
    status, body = await call(http, "sendChatAction", chat_id=USER, action="dancing")
    assert (status, body["description"]) == (400, "Bad Request: wrong parameter action in request")
    async with http.get("/sandbox/chats/31337/transcript") as resp:
        assert resp.status == 404


async def test_user_document_is_served_to_the_page(
    sandbox: TelegramSandbox, http: aiohttp.ClientSession
) -> None:
    assert sandbox.base_url is not None
    async with SandboxClient(sandbox.base_url) as client:
        message = await client.send_document(USER, b"a,b\n1,2\n", "data.csv", "text/csv")
    document = message["document"]
    assert (document["file_name"], document["mime_type"], document["file_size"]) == (
        "data.csv",
        "text/csv",
        8,
    )
    async with http.get(f"/sandbox/files/{document['file_id']}") as resp:
        assert await resp.read() == b"a,b\n1,2\n"
    _status, body = await call(http, "getFile", file_id=document["file_id"])
    async with http.get(f"/file/bot{TOKEN}/{body['result']['file_path']}") as resp:
        assert await resp.read() == b"a,b\n1,2\n"
    async with http.get(f"/file/bot{TOKEN}/documents/missing.bin") as resp:
        assert resp.status == 404


async def test_allowed_updates_filter_new_updates(
    sandbox: TelegramSandbox, http: aiohttp.ClientSession
) -> None:
    assert sandbox.base_url is not None
    async with SandboxClient(sandbox.base_url) as client:
        await client.send(USER, "hi")
        _status, body = await call(
            http,
            "sendMessage",
            chat_id=USER,
            text="pick",
            reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        )
        message_id = body["result"]["message_id"]
        _, first = await call(http, "getUpdates", allowed_updates=["message"], timeout=0)
        offset = first["result"][-1]["update_id"] + 1
        await client.press(USER, USER, message_id, "a")
        await client.send(USER, "after")
        _, second = await call(http, "getUpdates", offset=offset, timeout=0)
    assert [list(u)[1] for u in second["result"]] == ["message"]
    assert second["result"][0]["message"]["text"] == "after"


async def test_faults_with_other_statuses(
    sandbox: TelegramSandbox, http: aiohttp.ClientSession
) -> None:
    assert sandbox.base_url is not None
    async with SandboxClient(sandbox.base_url) as client:
        await client.send(USER, "hi")
        await client.fault("sendmessage", status=500, times=2)
        await client.fault("sendChatAction", status=403)
        assert (await call(http, "sendMessage", chat_id=USER, text="1"))[0] == 500
        assert (await call(http, "sendMessage", chat_id=USER, text="2"))[0] == 500
        assert (await call(http, "sendMessage", chat_id=USER, text="3"))[0] == 200
        status, body = await call(http, "sendChatAction", chat_id=USER, action="typing")
        assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
        statuses = [c["status"] for c in await client.calls(method="sendMessage")]
        assert statuses == [500, 500, 200]
        await client.clear_calls()
        assert await client.calls() == []


async def test_get_me_uses_constructor_identity(http: aiohttp.ClientSession) -> None:
    status, body = await call(http, "getMe")
    assert (status, body["result"]["id"], body["result"]["username"]) == (200, 42, "helper_bot")


async def test_photo_must_be_an_image(
    sandbox: TelegramSandbox, http: aiohttp.ClientSession
) -> None:
    body = {"user": {"id": USER}, "image_b64": base64.b64encode(b"not an image").decode()}
    async with http.post("/sandbox/send_photo", json=body) as resp:
        assert resp.status == 400
        assert "not a PNG" in (await resp.json())["description"]
