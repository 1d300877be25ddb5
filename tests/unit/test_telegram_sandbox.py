"""The fake Telegram server driven by a real aiogram Bot and by SandboxClient."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputRichMessage,
    MessageEntity,
)

from bot.sandbox.telegram import SandboxClient, TelegramSandbox

TOKEN = "123456:sandbox-test-token"
USER = 501
GROUP_ID = -1001234567890
GROUP: dict[str, Any] = {"id": GROUP_ID, "type": "supergroup", "title": "Test group"}


def make_bot(base_url: str, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x7f" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
async def sandbox() -> AsyncIterator[TelegramSandbox]:
    server = TelegramSandbox(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(sandbox: TelegramSandbox) -> AsyncIterator[Bot]:
    assert sandbox.base_url is not None
    client_bot = make_bot(sandbox.base_url)
    yield client_bot
    await client_bot.session.close()


@pytest.fixture
async def client(sandbox: TelegramSandbox) -> AsyncIterator[SandboxClient]:
    assert sandbox.base_url is not None
    async with SandboxClient(sandbox.base_url) as sandbox_client:
        yield sandbox_client


async def test_get_me_describes_the_sandbox_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (7000000001, "sandbox_bot", True)
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False


async def test_wrong_token_is_unauthorized(sandbox: TelegramSandbox) -> None:
    assert sandbox.base_url is not None
    intruder = make_bot(sandbox.base_url, token="999:wrong")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await intruder.get_me()
    finally:
        await intruder.session.close()


async def test_unknown_method_and_case_insensitive_names(sandbox: TelegramSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.base_url}/bot{TOKEN}/getMagic") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{sandbox.base_url}/bot{TOKEN}/GETME") as resp:
            assert resp.status == 200
            assert (await resp.json())["result"]["username"] == "sandbox_bot"


async def test_sent_message_appears_in_transcript(bot: Bot, client: SandboxClient) -> None:
    incoming = await client.send(USER, "hello bot")
    sent = await bot.send_message(USER, "<b>Hi</b> there", parse_mode="HTML")
    assert sent.message_id == incoming["message_id"] + 1
    transcript = await client.transcript(USER)
    assert [(m["from_bot"], m["text"]) for m in transcript] == [
        (False, "hello bot"),
        (True, "Hi there"),
    ]
    assert transcript[1]["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    assert [m["text"] for m in await client.bot_messages(USER)] == ["Hi there"]


async def test_unknown_chat_is_not_found(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(424242, "anyone?")


async def test_user_command_gets_bot_command_and_mention_entities(client: SandboxClient) -> None:
    message = await client.send(USER, "/ask@sandbox_bot what is @sandbox_bot?")
    assert message["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 16},
        {"type": "mention", "offset": 25, "length": 12},
    ]
    assert message["from"]["language_code"] == "en"


async def test_long_poll_is_held_until_an_update_arrives(bot: Bot, client: SandboxClient) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.3)
    assert not poll.done()
    await client.send(USER, "wake up")
    updates = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 3
    assert [u.message.text for u in updates if u.message] == ["wake up"]
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]
    confirmed = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert confirmed == []


async def test_long_poll_times_out_with_no_updates(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def test_second_poller_terminates_the_first(bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 5)
    assert await second == []


async def test_text_limit_counts_utf16_units(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    emoji = "\N{GRINNING FACE}"
    accepted = await bot.send_message(USER, emoji * 2048)
    assert accepted.text == emoji * 2048
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(USER, emoji * 2048 + "a")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(USER, "   \n ")


async def test_edit_with_same_content_is_not_modified(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="More", callback_data="more")]]
    )
    sent = await bot.send_message(USER, "draft", reply_markup=keyboard)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "draft", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard
        )
    edited = await bot.edit_message_text("final", chat_id=USER, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "final"
    assert edited.reply_markup is None
    [message] = await client.bot_messages(USER)
    assert [version["text"] for version in message["edits"]] == ["draft"]
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)


async def test_delete_message_hides_it(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    sent = await bot.send_message(USER, "oops")
    assert await bot.delete_message(USER, sent.message_id) is True
    assert await client.bot_messages(USER) == []
    assert (await client.transcript(USER))[-1]["deleted"] is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_callback_data_over_64_bytes_is_rejected(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    too_long = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="é" * 32 + "a")]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "pick", reply_markup=too_long)
    fits = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="é" * 32)]]
    )
    sent = await bot.send_message(USER, "pick", reply_markup=fits)
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "é" * 32


async def test_entities_are_validated(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    bad_link = [MessageEntity(type="text_link", offset=0, length=4, url="javascript:alert(1)")]
    with pytest.raises(TelegramBadRequest, match="can't parse entities: wrong HTTP URL"):
        await bot.send_message(USER, "link", entities=bad_link)
    beyond = [MessageEntity(type="bold", offset=2, length=5)]
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "short", entities=beyond)
    good = [MessageEntity(type="text_link", offset=0, length=4, url="https://example.org")]
    sent = await bot.send_message(USER, "link", entities=good)
    assert sent.entities is not None
    assert sent.entities[0].url == "https://example.org/"


async def test_markdown_v2_needs_escaping(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(USER, "Done. *bold*", parse_mode="MarkdownV2")
    with pytest.raises(TelegramBadRequest, match="Can't find end of Bold entity at byte offset 0"):
        await bot.send_message(USER, "*never closed", parse_mode="MarkdownV2")
    sent = await bot.send_message(
        USER, "Done\\. *bold* and [link](https://t.me/x)", parse_mode="MarkdownV2"
    )
    assert sent.text == "Done. bold and link"
    assert sent.entities is not None
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 6, 4),
        ("text_link", 15, 4),
    ]


async def test_html_errors_use_telegram_wording(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br" at byte offset 1'):
        await bot.send_message(USER, "a<br>b", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Can't find end tag corresponding to start tag"):
        await bot.send_message(USER, "<b>open", parse_mode="HTML")


async def test_injected_429_raises_retry_after(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    await client.fault("sendMessage", status=429, retry_after=7, chat_id=USER)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "first")
    assert caught.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in caught.value.message
    assert (await bot.send_message(USER, "second")).text == "second"
    calls = await client.calls(method="sendMessage", chat_id=USER)
    assert [c["status"] for c in calls] == [429, 200]
    assert calls[1]["params"]["text"] == "second"


async def test_enforced_limits_reject_a_burst(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    await client.set_limits(True)
    rejected: list[TelegramRetryAfter] = []
    for n in range(10):
        try:
            await bot.send_message(USER, f"spam {n}")
        except TelegramRetryAfter as exc:
            rejected.append(exc)
    assert rejected
    assert rejected[0].retry_after >= 1
    assert 1 <= len(await client.bot_messages(USER)) < 10
    assert (await client.limits())["rejections"][0]["chat_id"] == USER


async def test_press_gives_a_callback_query(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="vote:yes")]]
    )
    sent = await bot.send_message(USER, "Vote?", reply_markup=keyboard)
    await bot.get_updates(offset=-1, timeout=0)
    pressed = await client.press(USER, USER, sent.message_id, "vote:yes")
    updates = await bot.get_updates(offset=pressed["update_id"], timeout=1)
    query = updates[0].callback_query
    assert query is not None
    assert (query.id, query.data, query.from_user.id) == (
        pressed["callback_query_id"],
        "vote:yes",
        USER,
    )
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Counted") is True
    [recorded] = await client.callbacks(USER)
    assert recorded["answer"]["text"] == "Counted"
    with pytest.raises(Exception, match="no button"):
        await client.press(USER, USER, sent.message_id, "vote:no")


async def test_message_drafts_are_private_only(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    await client.send(USER, "hi all", chat=GROUP)
    with pytest.raises(TelegramBadRequest, match="method is available only for private chats"):
        await bot.send_message_draft(chat_id=GROUP_ID, draft_id=1, text="typing")
    assert await bot.send_message_draft(chat_id=USER, draft_id=7, text="Thin", can_stop=True)
    assert await bot.send_message_draft(chat_id=USER, draft_id=7, text="Thinking hard")
    drafts = await client.drafts(USER)
    assert [(d["draft_id"], d["text"], d["can_stop"]) for d in drafts] == [
        (7, "Thin", True),
        (7, "Thinking hard", False),
    ]
    assert drafts[0]["at"] <= drafts[1]["at"]


async def test_stop_generation_update_parses(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    await bot.send_message_draft(chat_id=USER, draft_id=3, text="...", can_stop=True)
    stopped = await client.stop_generation(USER, USER, 3)
    updates = await bot.get_updates(offset=stopped["update_id"], timeout=1)
    event = updates[0].stopped_message_generation
    assert event is not None
    assert (event.chat.id, event.draft_id) == (USER, 3)


async def test_document_upload_round_trip(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    content = b"%PDF-1.4 sandbox bytes \x00\x01\x02"
    sent = await bot.send_document(
        USER, BufferedInputFile(content, filename="report.pdf"), caption="Your report"
    )
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.mime_type, sent.document.file_size) == (
        "report.pdf",
        "application/pdf",
        len(content),
    )
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == content
    [message] = await client.bot_messages(USER)
    assert message["text"] == "Your report"
    assert message["document"]["file_name"] == "report.pdf"


async def test_user_photo_can_be_downloaded(bot: Bot, client: SandboxClient) -> None:
    image = png(40, 30)
    message = await client.send_photo(USER, image, caption="look")
    largest = message["photo"][-1]
    assert (largest["width"], largest["height"]) == (40, 30)
    file = await bot.get_file(largest["file_id"])
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == image
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, BufferedInputFile(image, "p.png"), caption="x" * 1025)


async def test_rich_message_needs_exactly_one_format(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    sent = await bot.send_rich_message(USER, InputRichMessage(markdown="# Title\n\nBody"))
    assert sent.rich_message is not None
    [message] = await client.bot_messages(USER)
    assert message["rich"] == {"markdown": "# Title\n\nBody"}
    with pytest.raises(TelegramBadRequest, match="exactly one"):
        await bot.send_rich_message(USER, InputRichMessage(markdown="a", html="<b>a</b>"))


async def test_commands_are_kept_per_scope_and_language(bot: Bot, client: SandboxClient) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [BotCommand(command="ask", description="Спросить")],
        scope=BotCommandScopeAllGroupChats(),
        language_code="ru",
    )
    stored = await client.commands()
    assert stored["default"][""] == [{"command": "start", "description": "Start"}]
    assert stored["all_group_chats"]["ru"][0]["command"] == "ask"
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


async def test_group_roles_come_from_the_setup(bot: Bot, client: SandboxClient) -> None:
    await client.group(GROUP, admins=[10, 11], members=[12])
    chat_id = GROUP_ID
    statuses = [(await bot.get_chat_member(chat_id, uid)).status for uid in (10, 11, 12)]
    assert statuses == ["creator", "administrator", "member"]
    chat = await bot.get_chat(chat_id)
    assert (chat.type, chat.title) == ("supergroup", "Test group")


async def test_wait_bot_messages_times_out_with_transcript(client: SandboxClient) -> None:
    await client.send(USER, "anyone there?")
    with pytest.raises(TimeoutError, match="anyone there"):
        await client.wait_bot_messages(USER, 1, timeout=0.3)


async def test_wait_bot_messages_returns_when_the_bot_answers(
    bot: Bot, client: SandboxClient
) -> None:
    await client.send(USER, "ping")
    waiter = asyncio.create_task(client.wait_bot_messages(USER, 2, timeout=5))
    await bot.send_message(USER, "pong 1")
    await asyncio.sleep(0.1)
    assert not waiter.done()
    await bot.send_message(USER, "pong 2")
    assert [m["text"] for m in await asyncio.wait_for(waiter, 5)] == ["pong 1", "pong 2"]


async def test_reset_clears_chats(bot: Bot, client: SandboxClient) -> None:
    await client.send(USER, "hi")
    await client.reset()
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(USER, "still there?")
    assert await bot.get_updates(timeout=0) == []
