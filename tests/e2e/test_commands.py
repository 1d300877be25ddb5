"""Settings, system prompt, language, history, privacy, unknown commands and feedback, played
by a user against the real bot; asserted on what they see and what the LLM received."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox.llm import default_reply
from tests.e2e.conftest import SYSTEM_PROMPT, Stack
from tests.e2e.test_chat import ask, openai_messages, requests_mentioning

pytestmark = pytest.mark.e2e


def button_data(message: dict[str, Any]) -> dict[str, str]:
    """Button text -> callback data of a message's inline keyboard."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def message_by_id(stack: Stack, chat_id: int, message_id: int) -> dict[str, Any]:
    [found] = [m for m in await stack.telegram.transcript(chat_id) if m["message_id"] == message_id]
    return found


async def press(
    stack: Stack, user_id: int, chat_id: int, message_id: int, data: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Press a button; wait for the bot to answer the callback. Returns (answer, message)."""
    pressed = await stack.telegram.press(user_id, chat_id, message_id, data)
    for _ in range(200):
        for query in await stack.telegram.callbacks(chat_id):
            if query["id"] == pressed["callback_query_id"] and query["answer"] is not None:
                return query["answer"], await message_by_id(stack, chat_id, message_id)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the press of {data!r} was not answered")


async def set_temperature(stack: Stack, user_id: int, value: str) -> dict[str, Any]:
    menu = await ask(stack, user_id, "/settings")
    assert "🌡 Temperature: default" in menu["text"]
    page_data = button_data(menu)["🌡 Temperature: default"]
    _, page = await press(stack, user_id, user_id, menu["message_id"], page_data)
    choices = button_data(page)
    assert list(choices) == ["0", "0.3", "0.7", "1", "1.3", "✅ Default", "⬅️ Back"]
    answer, summary = await press(stack, user_id, user_id, menu["message_id"], choices[value])
    assert answer["text"] == "Saved for this chat."
    return summary


def database(stack: Stack) -> Path:
    return stack.bot.log_path.parent / "bot.sqlite3"


async def test_temperature_from_settings_reaches_the_model_for_this_chat_only(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    summary = await set_temperature(stack, user_id, "0.3")
    assert "🌡 Temperature: 0.3" in summary["text"]
    assert "🌡 Temperature: 0.3" in button_data(summary)

    await ask(stack, user_id, "a warm question")
    [request] = requests_mentioning(stack.llm, "a warm question")
    assert request["body"]["temperature"] == 0.3

    other = user_id + 600_000
    await ask(stack, other, "a question from elsewhere")
    [elsewhere] = requests_mentioning(stack.llm, "a question from elsewhere")
    assert "temperature" not in elsewhere["body"]


async def test_answer_length_presets_follow_the_model_and_limit_the_request(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    menu = await ask(stack, user_id, "/settings")
    _, page = await press(
        stack, user_id, user_id, menu["message_id"], button_data(menu)["📏 Answer length: default"]
    )
    assert "This model allows up to 5000." in page["text"]
    choices = button_data(page)
    assert list(choices)[:6] == ["256", "512", "1024", "2048", "4096", "5000"]
    _, summary = await press(stack, user_id, user_id, menu["message_id"], choices["1024"])
    assert "📏 Answer length limit, tokens: 1024 (model maximum: 5000)" in summary["text"]

    await ask(stack, user_id, "a bounded question")
    [request] = requests_mentioning(stack.llm, "a bounded question")
    assert request["body"]["max_completion_tokens"] == 1024


async def test_footer_toggle_and_back_to_default(polling_stack: Stack, user_id: int) -> None:
    stack = polling_stack
    summary = await set_temperature(stack, user_id, "1.3")
    footer = button_data(summary)["🏷 Model name under answers: off"]
    answer, summary = await press(stack, user_id, user_id, summary["message_id"], footer)
    assert answer["text"] == "Saved for this chat."
    assert "🏷 Model name under answers: on" in summary["text"]
    # Pressing "Default" puts the model's own temperature back.
    _, page = await press(
        stack,
        user_id,
        user_id,
        summary["message_id"],
        button_data(summary)["🌡 Temperature: 1.3"],
    )
    assert "✅ 1.3" in button_data(page)
    _, summary = await press(
        stack, user_id, user_id, summary["message_id"], button_data(page)["Default"]
    )
    assert "🌡 Temperature: default" in summary["text"]
    assert "🏷 Model name under answers: on" in summary["text"]
    await ask(stack, user_id, "back to normal")
    [request] = requests_mentioning(stack.llm, "back to normal")
    assert "temperature" not in request["body"]


async def test_setsystem_getsystem_resetsystem(stack: Stack, user_id: int) -> None:
    reply = await ask(stack, user_id, "/setsystem You are a pirate. Answer like one.")
    assert reply["text"].startswith("The system prompt of this chat is updated.")
    await ask(stack, user_id, "ahoy there")
    [request] = requests_mentioning(stack.llm, "ahoy there")
    assert openai_messages(request)[0] == ("system", "You are a pirate. Answer like one.")

    shown = await ask(stack, user_id, "/getsystem")
    assert shown["text"] == "The system prompt of this chat:\n\nYou are a pirate. Answer like one."

    reset = await ask(stack, user_id, "/resetsystem")
    assert reset["text"] == "The system prompt of this chat is reset to the default."
    await ask(stack, user_id, "plain again")
    [request] = requests_mentioning(stack.llm, "plain again")
    assert openai_messages(request)[0] == ("system", SYSTEM_PROMPT)
    default = await ask(stack, user_id, "/getsystem")
    assert default["text"].startswith("This chat uses the default system prompt.")


async def test_setsystem_alone_takes_the_next_message_as_the_prompt(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    prompt = "Always answer in exactly three words.\nNever apologise."
    waiting = await ask(stack, user_id, "/setsystem")
    assert waiting["text"].startswith("Send the new system prompt for this chat")
    stored = await ask(stack, user_id, prompt)
    assert stored["text"].startswith("The system prompt of this chat is updated.")
    assert not requests_mentioning(stack.llm, "three words")  # not taken as a question

    reply = await ask(stack, user_id, "what now?")
    assert reply["text"] == default_reply("gpt-test", "what now?")
    [request] = requests_mentioning(stack.llm, "what now?")
    assert openai_messages(request)[0] == ("system", prompt)


async def test_setsystem_refuses_a_too_long_prompt_and_cancel_leaves_it(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    refused = await ask(stack, user_id, "/setsystem " + "x" * 4001)
    assert refused["text"].startswith("That prompt is too long: at most 4,000 characters.")
    await ask(stack, user_id, "/setsystem")
    cancelled = await ask(stack, user_id, "/cancel")
    assert cancelled["text"] == "Cancelled. The system prompt is unchanged."
    answer = await ask(stack, user_id, "not a prompt")
    assert answer["text"] == default_reply("gpt-test", "not a prompt")
    [request] = requests_mentioning(stack.llm, "not a prompt")
    assert openai_messages(request)[0] == ("system", SYSTEM_PROMPT)


async def test_language_switch_to_russian(stack: Stack, user_id: int) -> None:
    menu = await ask(stack, user_id, "/language")
    assert menu["text"] == "Choose the interface language."
    assert button_data(menu) == {"✅ English": "lang:en", "Русский": "lang:ru"}
    answer, edited = await press(stack, user_id, user_id, menu["message_id"], "lang:ru")
    assert answer["text"] == "Готово! Язык интерфейса: Русский."
    assert edited["text"] == answer["text"]
    assert "✅ Русский" in button_data(edited)

    help_text = await ask(stack, user_id, "/help")  # Telegram still says "en"
    assert help_text["text"].startswith("Напишите сообщение, и я отвечу.")


async def fetch_file(stack: Stack, file_id: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.telegram.base_url}/sandbox/files/{file_id}") as resp,
    ):
        assert resp.status == 200
        return (await resp.read()).decode("utf-8")


async def test_history_sends_the_conversation_as_a_markdown_file(
    stack: Stack, user_id: int
) -> None:
    empty = await ask(stack, user_id, "/history")
    assert empty["text"] == "Nothing here yet: the current conversation has no messages."

    await ask(stack, user_id, "first question for the file")
    await ask(stack, user_id, "second question for the file")
    sent = await ask(stack, user_id, "/history")
    document = sent["document"]
    assert document["file_name"].startswith(f"conversation-{user_id}-")
    assert document["file_name"].endswith(".md")
    assert sent["caption"] == "The current conversation: 4 messages."
    content = await fetch_file(stack, document["file_id"])
    assert content.startswith("# Conversation in a private chat, started ")
    first_answer = default_reply("gpt-test", "first question for the file")
    assert (
        f"## You\n\nfirst question for the file\n\n## GPT Test\n\n{first_answer.strip()}\n"
        in content
    )
    assert content.index("first question") < content.index("second question")

    await ask(stack, user_id, "/reset")
    after_reset = await ask(stack, user_id, "/history")
    assert after_reset["text"] == "Nothing here yet: the current conversation has no messages."


async def test_privacy_explains_what_is_stored(polling_stack: Stack, user_id: int) -> None:
    reply = await ask(polling_stack, user_id, "/privacy")
    text = reply["text"]
    assert text.startswith("🔒 What this bot stores")
    assert "/reset starts a new conversation" in text
    assert "old conversations stay stored" in text
    assert f"Telegram user id: {user_id}." in text
    russian = await ask(polling_stack, user_id + 800_000, "/privacy", language_code="ru")
    assert russian["text"].startswith("🔒 Что хранит этот бот")


async def test_unknown_command_gets_a_hint(stack: Stack, user_id: int) -> None:
    reply = await ask(stack, user_id, "/frobnicate now")
    assert reply["text"] == "I do not know the command /frobnicate. See /help for what I can do."
    assert not requests_mentioning(stack.llm, "frobnicate")
    known = await ask(stack, user_id, "/getmodel")
    assert known["text"] == "Current model: GPT Test."


async def test_feedback_is_stored_and_can_change(polling_stack: Stack, user_id: int) -> None:
    stack = polling_stack
    answer = await ask(stack, user_id, "rate this answer")
    buttons = button_data(answer)
    assert {"👍", "👎"} <= set(buttons), f"no feedback buttons under the answer: {buttons}"
    toast, _ = await press(stack, user_id, user_id, answer["message_id"], buttons["👍"])
    assert toast["text"] == "👍 Thanks for the feedback!"
    toast, _ = await press(stack, user_id, user_id, answer["message_id"], buttons["👍"])
    assert toast["text"] == "You already rated this answer 👍."
    toast, _ = await press(stack, user_id, user_id, answer["message_id"], buttons["👎"])
    assert toast["text"] == "Your rating is changed to 👎."

    answer_id = int(buttons["👎"].split(":")[1])
    with sqlite3.connect(database(stack)) as db:
        rows = db.execute(
            "SELECT f.user_id, f.value, m.role FROM feedback f JOIN messages m "
            "ON m.id = f.message_id WHERE f.message_id = ?",
            (answer_id,),
        ).fetchall()
    assert rows == [(user_id, -1, "assistant")]
