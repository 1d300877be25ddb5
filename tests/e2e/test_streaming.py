"""Live streaming as a user sees it: drafts in private chats, paced edits in groups, Stop,
flood control, long answers, rich messages and /retry."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from bot.sandbox.llm import default_reply
from tests.e2e.conftest import GROUP_EDIT_INTERVAL, Stack
from tests.e2e.test_chat import ask, requests_mentioning

pytestmark = pytest.mark.e2e

SLOW_ANSWER = " ".join(f"word{i}" for i in range(40))


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def rejections(stack: Stack, chat_id: int) -> list[dict[str, Any]]:
    limits = await stack.telegram.limits()
    return [r for r in limits["rejections"] if r.get("chat_id") == chat_id]


async def wait_for_request(stack: Stack, text: str) -> list[dict[str, Any]]:
    for _ in range(200):
        found = requests_mentioning(stack.llm, text)
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"the LLM never received {text!r}")


async def wait_for_draft_text(stack: Stack, chat_id: int) -> dict[str, Any]:
    for _ in range(200):
        drafts = [d for d in await stack.telegram.drafts(chat_id) if d["text"]]
        if drafts:
            return drafts[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("no draft with text appeared")


async def test_private_answer_streams_as_drafts_then_one_message(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    stack.llm.script(SLOW_ANSWER, match="stream to me")
    stack.llm.set_knobs(token_delay_ms=40)
    reply = await ask(stack, user_id, "stream to me")
    assert reply["text"] == SLOW_ANSWER
    drafts = await stack.telegram.drafts(user_id)
    assert drafts[0]["text"] == ""  # the "thinking" state comes first
    assert len({d["draft_id"] for d in drafts}) == 1  # one draft animated, not many
    texts = [d["text"] for d in drafts if d["text"]]
    assert len(texts) >= 3  # it visibly grew
    assert all(SLOW_ANSWER.startswith(t) for t in texts)
    assert all(d["can_stop"] for d in drafts)
    assert len(await stack.telegram.bot_messages(user_id)) == 1
    assert await rejections(stack, user_id) == []


async def test_stop_button_keeps_the_partial_answer(polling_stack: Stack, user_id: int) -> None:
    stack = polling_stack
    stack.llm.script(SLOW_ANSWER * 3, match="long story")
    stack.llm.set_knobs(token_delay_ms=80)
    await stack.telegram.send(user_id, "tell a long story")
    draft = await wait_for_draft_text(stack, user_id)
    await stack.telegram.stop_generation(user_id, user_id, draft["draft_id"])
    [reply] = await stack.telegram.wait_bot_messages(user_id, 1, timeout=10)
    assert reply["text"].endswith("⏹ Stopped.")
    partial = reply["text"].removesuffix("⏹ Stopped.").strip()
    assert partial
    assert (SLOW_ANSWER * 3).startswith(partial)
    assert len(partial) < len(SLOW_ANSWER * 3)

    stack.llm.set_knobs(token_delay_ms=0)
    follow = await ask(stack, user_id, "and after the stop?")
    assert follow["text"] == default_reply("gpt-test", "and after the stop?")
    [request] = requests_mentioning(stack.llm, "and after the stop?")
    history = [(m["role"], m["content"]) for m in request["body"]["messages"]]
    assert history[-2][0] == "assistant"
    assert history[-2][1].strip() == partial  # the model sees what the user saw


async def test_stop_command_ends_the_answer(polling_stack: Stack, user_id: int) -> None:
    stack = polling_stack
    stack.llm.script(SLOW_ANSWER * 3, match="stoppable")
    stack.llm.set_knobs(token_delay_ms=80)
    await stack.telegram.send(user_id, "stoppable please")
    await wait_for_draft_text(stack, user_id)
    await stack.telegram.send(user_id, "/stop")
    [reply] = await stack.telegram.wait_bot_messages(user_id, 1, timeout=10)
    assert reply["text"].endswith("⏹ Stopped.")
    nothing = await ask(stack, user_id, "/stop")
    assert nothing["text"] == "There is no answer being written right now."


async def group_chat(stack: Stack, admin: int) -> dict[str, Any]:
    chat = {"id": -1_000_000_000_000 - admin, "type": "supergroup", "title": "Test group"}
    await stack.telegram.group(chat, admins=[admin], members=[admin + 1])
    return chat


async def test_group_answer_streams_by_paced_edits(polling_stack: Stack, user_id: int) -> None:
    stack = polling_stack
    chat = await group_chat(stack, user_id)
    stack.llm.script(SLOW_ANSWER, match="group question")
    stack.llm.set_knobs(token_delay_ms=100)  # about 4 s of streaming
    await stack.telegram.send(user_id, "@sandbox_bot group question", chat=chat)
    [reply] = await stack.telegram.wait_bot_messages(chat["id"], 1, timeout=10)
    for _ in range(200):
        [reply] = await stack.telegram.bot_messages(chat["id"])
        if reply["text"] == SLOW_ANSWER:
            break
        await asyncio.sleep(0.05)
    assert reply["text"] == SLOW_ANSWER
    buttons = [b for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    assert not [b for b in buttons if b["callback_data"].startswith("stop:")]  # Stop is gone
    assert {b["text"] for b in buttons} == {"👍", "👎"}  # feedback replaced it
    assert len(reply["edits"]) >= 2  # it was visibly streamed
    sends = await stack.telegram.calls(method="sendMessage", chat_id=chat["id"])
    edits = await stack.telegram.calls(method="editMessageText", chat_id=chat["id"])
    times = sorted(c["at"] for c in sends + edits if c["status"] == 200)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Intermediate edits keep the interval; only the final edit may follow sooner.
    assert all(gap >= GROUP_EDIT_INTERVAL * 0.9 for gap in gaps[:-1])
    assert await rejections(stack, chat["id"]) == []


async def test_group_addressing_rules(polling_stack: Stack, user_id: int) -> None:
    stack = polling_stack
    chat = await group_chat(stack, user_id)
    await stack.telegram.send(user_id, "just chatting among humans", chat=chat)
    await stack.telegram.send(user_id + 1, "@sandbox_bot what is 2+2?", chat=chat)
    [first] = await stack.telegram.wait_bot_messages(chat["id"], 1, timeout=10)
    [asked] = await wait_for_request(stack, "what is 2+2?")
    assert not requests_mentioning(stack.llm, "among humans")  # ignored, not sent anywhere
    assert asked["body"]["messages"][-1]["content"] == "what is 2+2?"  # mention stripped
    for _ in range(100):  # wait for the final edit
        [first] = await stack.telegram.bot_messages(chat["id"])
        if first["text"] == default_reply("gpt-test", "what is 2+2?"):
            break
        await asyncio.sleep(0.05)

    await stack.telegram.send(
        user_id, "and times three?", chat=chat, reply_to_message_id=first["message_id"]
    )
    [followup] = await wait_for_request(stack, "and times three?")
    contents = [m["content"] for m in followup["body"]["messages"]]
    assert "what is 2+2?" in contents  # one conversation per group


async def test_429_retry_after_is_honoured_and_the_answer_arrives(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    await stack.telegram.fault("sendMessage", status=429, retry_after=3, chat_id=user_id)
    started = time.monotonic()
    reply = await ask(stack, user_id, "answer despite flood control")
    assert reply["text"] == default_reply("gpt-test", "answer despite flood control")
    calls = await stack.telegram.calls(chat_id=user_id)
    [limited] = [c for c in calls if c["status"] == 429]
    after = [
        c for c in calls if c["at"] > limited["at"] and c["method"].lower() != "sendchataction"
    ]
    assert after
    assert min(c["at"] for c in after) - limited["at"] >= 3.0  # nothing sent during the block
    assert time.monotonic() - started >= 3.0


async def test_a_9000_character_streamed_answer_ends_as_valid_messages(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    answer = "\n\n".join(f"Part {i}. " + "streaming text goes on " * 18 for i in range(22))
    assert 9000 <= len(answer) < 12_000
    stack.llm.script(answer, match="nine thousand")
    stack.llm.set_knobs(token_delay_ms=2)
    await stack.telegram.send(user_id, "nine thousand characters")
    messages = await stack.telegram.wait_bot_messages(user_id, 3, timeout=30)
    await asyncio.sleep(0.5)
    messages = await stack.telegram.bot_messages(user_id)
    assert len(messages) == 3
    assert all(0 < utf16(m["text"]) <= 4096 for m in messages)
    assert " ".join(m["text"] for m in messages).split() == answer.split()
    assert [m["message_id"] for m in messages] == sorted(m["message_id"] for m in messages)
    assert await rejections(stack, user_id) == []


async def test_rich_mode_passes_markdown_through(rich_stack: Stack, user_id: int) -> None:
    markdown = "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n**bold** text"
    rich_stack.llm.script(markdown, match="rich please")
    reply = await ask(rich_stack, user_id, "rich please")
    assert reply["rich"] == {"markdown": markdown}


async def test_rich_mode_falls_back_to_text_when_refused(rich_stack: Stack, user_id: int) -> None:
    rich_stack.llm.script("Some **bold** words", match="refuse rich")
    await rich_stack.telegram.fault(
        "sendRichMessage", status=400, description="Bad Request: RICH_MESSAGE_INVALID"
    )
    reply = await ask(rich_stack, user_id, "refuse rich")
    assert reply["rich"] is None
    assert reply["text"] == "Some bold words"
    assert [e["type"] for e in reply["entities"]] == ["bold"]


async def test_retry_regenerates_and_supersedes(polling_stack: Stack, user_id: int) -> None:
    stack = polling_stack
    stack.llm.script("First take.", match="give me a slogan")
    stack.llm.script("Second take.", match="give me a slogan")
    first = await ask(stack, user_id, "give me a slogan")
    assert first["text"] == "First take."
    second = await ask(stack, user_id, "/retry")
    assert second["text"] == "Second take."
    [_, retried] = requests_mentioning(stack.llm, "give me a slogan")
    roles = [m["role"] for m in retried["body"]["messages"]]
    assert roles == ["system", "user"]  # the superseded answer is not sent again
    await ask(stack, user_id, "thanks")
    [after] = requests_mentioning(stack.llm, "thanks")
    contents = [m["content"] for m in after["body"]["messages"]]
    assert "Second take." in contents
    assert "First take." not in contents
    empty = await ask(stack, user_id + 800_000, "/retry")
    assert empty["text"] == "There is nothing to answer again yet: ask me something first."
