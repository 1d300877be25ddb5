"""A user talks to the real bot through the sandbox; asserted on what they see and what the
LLM received."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot.sandbox.llm import ScriptedLLM, default_reply
from bot.sandbox.telegram.client import SandboxError
from tests.e2e.conftest import SYSTEM_PROMPT, Stack

pytestmark = pytest.mark.e2e


def openai_messages(request: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in request["body"]["messages"]]


def anthropic_text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)


def requests_mentioning(llm: ScriptedLLM, text: str) -> list[dict[str, Any]]:
    return [r for r in llm.requests if text in str((r["body"] or {}).get("messages"))]


async def count_bot_messages(stack: Stack, chat_id: int) -> int:
    try:
        return len(await stack.telegram.bot_messages(chat_id))
    except SandboxError as exc:
        if exc.status == 404:  # the chat does not exist until its first message
            return 0
        raise


async def ask(stack: Stack, user_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
    """Send a message and return the bot's next reply in that chat."""
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.send(user_id, text, **kwargs)
    messages = await stack.telegram.wait_bot_messages(user_id, before + 1, timeout=15)
    return messages[before]


async def test_a_question_gets_an_answer(stack: Stack, user_id: int) -> None:
    reply = await ask(stack, user_id, "What is the capital of France?")
    assert reply["text"] == default_reply("gpt-test", "What is the capital of France?")
    [request] = requests_mentioning(stack.llm, "capital of France")
    assert request["model"] == "gpt-test"
    assert openai_messages(request) == [
        ("system", SYSTEM_PROMPT),
        ("user", "What is the capital of France?"),
    ]
    assert request["body"]["stream"] is True


async def test_history_is_sent_and_reset_starts_over(stack: Stack, user_id: int) -> None:
    await ask(stack, user_id, "my name is Ada")
    await ask(stack, user_id, "what is my name?")
    [second] = requests_mentioning(stack.llm, "what is my name?")
    roles = [role for role, _ in openai_messages(second)]
    assert roles == ["system", "user", "assistant", "user"]
    assert "my name is Ada" in str(second["body"]["messages"])

    reset = await ask(stack, user_id, "/reset")
    assert reset["text"] == "Started a new conversation. The previous messages are forgotten."
    await ask(stack, user_id, "fresh start")
    [third] = requests_mentioning(stack.llm, "fresh start")
    assert "Ada" not in str(third["body"]["messages"])
    assert openai_messages(third) == [("system", SYSTEM_PROMPT), ("user", "fresh start")]


async def choose_model(stack: Stack, user_id: int, model_id: str) -> dict[str, Any]:
    menu = await ask(stack, user_id, "/setmodel")
    buttons = [b for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons[0]["text"] == "✅ GPT Test"  # current one marked
    await stack.telegram.press(user_id, user_id, menu["message_id"], f"model:{model_id}")
    for _ in range(100):
        [edited] = [
            m
            for m in await stack.telegram.bot_messages(user_id)
            if m["message_id"] == menu["message_id"]
        ]
        if edited["edits"]:
            return edited
        await asyncio.sleep(0.05)
    raise AssertionError("the model menu was not updated after the press")


async def test_setmodel_switches_between_openai_and_anthropic(stack: Stack, user_id: int) -> None:
    await ask(stack, user_id, "remember the word kiwi")
    edited = await choose_model(stack, user_id, "claude")
    assert edited["text"] == "Model switched to Claude Test."
    buttons = [b["text"] for row in edited["reply_markup"]["inline_keyboard"] for b in row]
    assert "✅ Claude Test" in buttons

    reply = await ask(stack, user_id, "which word?")
    assert reply["text"] == default_reply("claude-test", "which word?")
    [request] = [r for r in stack.llm.requests if "which word?" in str(r["body"])]
    assert request["protocol"] == "anthropic"
    assert request["model"] == "claude-test"
    assert request["body"]["system"] == SYSTEM_PROMPT
    messages = request["body"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert anthropic_text(messages[0]) == "remember the word kiwi"
    assert anthropic_text(messages[1]) == default_reply("gpt-test", "remember the word kiwi")

    current = await ask(stack, user_id, "/getmodel")
    assert current["text"] == "Current model: Claude Test."


async def test_model_choice_is_per_chat(polling_stack: Stack, user_id: int) -> None:
    await choose_model(polling_stack, user_id, "claude")
    other = user_id + 500_000
    reply = await ask(polling_stack, other, "which model serves me?")
    assert reply["text"] == default_reply("gpt-test", "which model serves me?")


async def test_model_without_system_prompt_gets_it_merged(stack: Stack, user_id: int) -> None:
    await choose_model(stack, user_id, "gemma")
    await ask(stack, user_id, "hello gemma")
    [request] = requests_mentioning(stack.llm, "hello gemma")
    assert request["model"] == "gemma-test"
    messages = openai_messages(request)
    assert [role for role, _ in messages] == ["user"]
    assert messages[0][1] == f"{SYSTEM_PROMPT}\n\n---\n\nhello gemma"


async def test_markdown_rejected_by_telegram_falls_back_to_plain_text(
    polling_stack: Stack, user_id: int
) -> None:
    polling_stack.llm.script(
        "**Careful**: see [the form](javascript:alert(1)) now", match="risky link"
    )
    reply = await ask(polling_stack, user_id, "risky link please")
    assert reply["entities"] in (None, [])
    assert reply["text"] == "Careful: see the form (javascript:alert(1)) now"
    rejected = [
        c
        for c in await polling_stack.telegram.calls(method="sendMessage", chat_id=user_id)
        if c["status"] == 400
    ]
    assert rejected
    assert "can't parse entities" in rejected[0]["description"]


async def test_formatted_answer_keeps_its_entities(polling_stack: Stack, user_id: int) -> None:
    polling_stack.llm.script("Use **bold** and `code`.", match="format me")
    reply = await ask(polling_stack, user_id, "format me")
    assert reply["text"] == "Use bold and code."
    assert {e["type"] for e in reply["entities"]} == {"bold", "code"}


async def test_a_12000_character_answer_arrives_as_several_valid_messages(
    stack: Stack, user_id: int
) -> None:
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 14 for i in range(32)]
    answer = "\n\n".join(paragraphs)
    assert len(answer) > 12_000
    stack.llm.script(answer, match="long answer")
    await stack.telegram.send(user_id, "long answer please")
    messages = await stack.telegram.wait_bot_messages(user_id, 4, timeout=15)
    assert all(0 < len(m["text"].encode("utf-16-le")) // 2 <= 4096 for m in messages)
    joined = " ".join(m["text"] for m in messages)
    assert joined.split() == answer.split()  # every word arrived, in order


async def test_ten_rapid_messages_are_answered_in_order(stack: Stack, user_id: int) -> None:
    stack.llm.set_knobs(ttft_ms=30, token_delay_ms=2)
    for i in range(10):
        await stack.telegram.send(user_id, f"rapid message {i}")
    messages = await stack.telegram.wait_bot_messages(user_id, 10, timeout=30)
    assert [m["text"] for m in messages] == [
        default_reply("gpt-test", f"rapid message {i}") for i in range(10)
    ]
    # Each answer replies to its own question.
    transcript = await stack.telegram.transcript(user_id)
    questions = {m["message_id"]: m["text"] for m in transcript if not m["from_bot"]}
    for i, message in enumerate(messages):
        assert questions[message["reply_to_message_id"]] == f"rapid message {i}"


async def test_a_long_paste_split_by_telegram_is_one_turn(stack: Stack, user_id: int) -> None:
    part_one = "A" * 3500
    part_two = "B" * 800
    await stack.telegram.send(user_id, part_one)
    await stack.telegram.send(user_id, part_two)
    [reply] = await stack.telegram.wait_bot_messages(user_id, 1, timeout=15)
    await asyncio.sleep(1.2)  # a second answer would have arrived by now
    assert len(await stack.telegram.bot_messages(user_id)) == 1
    [request] = requests_mentioning(stack.llm, part_two)
    assert openai_messages(request)[-1] == ("user", f"{part_one}\n{part_two}")
    assert reply["text"].startswith('This is the sandbox model "gpt-test"')


async def test_an_answer_cut_by_the_output_limit_says_so(
    polling_stack: Stack, user_id: int
) -> None:
    await choose_model(polling_stack, user_id, "gemma")  # max_output_tokens = 500
    polling_stack.llm.script("word " * 1000, match="write a lot")
    reply = await ask(polling_stack, user_id, "write a lot")
    assert reply["text"].endswith(
        "✂️ The answer reached the length limit for this model. Ask me to continue if you need more."
    )
    [request] = requests_mentioning(polling_stack.llm, "write a lot")
    assert request["body"]["max_completion_tokens"] == 500


async def test_llm_500_is_retried(stack: Stack, user_id: int) -> None:
    stack.llm.add_fault("status", status=500, times=1)
    reply = await ask(stack, user_id, "survive a 500")
    assert reply["text"] == default_reply("gpt-test", "survive a 500")
    attempts = requests_mentioning(stack.llm, "survive a 500")
    assert [r["status"] for r in attempts] == [500, 200]


async def test_hanging_llm_gives_a_localized_error_while_others_are_served(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    stack.llm.add_fault("hang", times=1)
    started = time.monotonic()
    await stack.telegram.send(user_id, "this one hangs", language_code="ru")
    while not requests_mentioning(stack.llm, "this one hangs"):
        await asyncio.sleep(0.02)
    other = user_id + 700_000
    answer = await ask(stack, other, "meanwhile in another chat")
    assert answer["text"] == default_reply("gpt-test", "meanwhile in another chat")
    assert time.monotonic() - started < 2.5  # served while the first chat still waits

    [error] = await stack.telegram.wait_bot_messages(user_id, 1, timeout=10)
    elapsed = time.monotonic() - started
    assert error["text"] == "Модель не ответила вовремя. Попробуйте ещё раз чуть позже."
    assert 2.5 <= elapsed < 6.0  # read_timeout is 3 s; timeouts are not retried
    assert len(requests_mentioning(stack.llm, "this one hangs")) == 1


async def test_russian_user_gets_russian_interface(stack: Stack, user_id: int) -> None:
    reply = await ask(stack, user_id, "/start", language_code="ru", first_name="Аня")
    assert reply["text"].startswith("Здравствуйте, Аня!")
    assert "Текущая модель: GPT Test." in reply["text"]
    english = await ask(stack, user_id + 900_000, "/help", language_code="en")
    assert english["text"].startswith("Write a message and I will answer.")


async def test_command_menu_is_registered_in_both_languages(polling_stack: Stack) -> None:
    commands = await polling_stack.telegram.commands()
    flat = str(commands)
    assert "Choose the model" in flat
    assert "Выбрать модель" in flat
