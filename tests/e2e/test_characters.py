"""Characters through the real bot: choosing one, its prompt reaching the model, edits to its
file served without a restart, a broken edit reported to the operators, a removed file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_ID, SYSTEM_PROMPT, Stack
from tests.e2e.test_chat import ask, openai_messages, requests_mentioning
from tests.e2e.test_commands import button_data, press

pytestmark = pytest.mark.e2e

CHARACTER = """---
id: {id}
name:
  en: "Captain {id}"
  ru: "Капитан {id}"
description:
  en: "A test pirate."
  ru: "Пират для теста."
greeting:
  en: "Ahoy, sailor!"
  ru: "Йо-хо-хо, моряк!"
routing: false
---
{prompt}
"""


def write_character(stack: Stack, character_id: str, prompt: str) -> Path:
    path = stack.characters / f"{character_id}.md"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(CHARACTER.format(id=character_id, prompt=prompt), encoding="utf-8")
    tmp.replace(path)  # what an editor's save looks like to the watcher
    return path


async def eventually(check: Any, seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time limit"
        await asyncio.sleep(0.2)


async def choose(stack: Stack, user_id: int, character_id: str) -> list[dict[str, Any]]:
    menu = await ask(stack, user_id, "/setcharacter")
    assert menu["text"].startswith("Choose who I am in this chat")
    assert "✅ No character" in button_data(menu)  # none chosen yet
    before = len(await stack.telegram.bot_messages(user_id))
    answer, _ = await press(stack, user_id, user_id, menu["message_id"], f"chr:{character_id}")
    assert answer["text"] == f"Character: Captain {character_id}. A new conversation has started."
    return await stack.telegram.wait_bot_messages(user_id, before + 1, timeout=15)


def system_of(request: dict[str, Any]) -> str:
    return openai_messages(request)[0][1]


async def test_a_chosen_character_greets_and_its_prompt_reaches_the_model(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    character_id = f"pirate{user_id}"
    write_character(stack, character_id, "You are a pirate. Say arr.")

    async def listed() -> bool:
        menu = await ask(stack, user_id, "/setcharacter")
        return f"Captain {character_id}" in button_data(menu)

    await eventually(listed)
    messages = await choose(stack, user_id, character_id)
    assert messages[-1]["text"] == "Ahoy, sailor!"
    await ask(stack, user_id, "where is the treasure?")
    [request] = requests_mentioning(stack.llm, "where is the treasure?")
    assert system_of(request) == "You are a pirate. Say arr."
    current = await ask(stack, user_id, "/character")
    assert current["text"] == f"Character: Captain {character_id}. A test pirate."


async def test_an_edit_is_served_without_restart_and_a_broken_one_keeps_the_last_good(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    character_id = f"editcheck{user_id}"
    path = write_character(stack, character_id, "You are version one.")
    await eventually(lambda: _listed(stack, user_id, character_id))
    await choose(stack, user_id, character_id)

    write_character(stack, character_id, "You are version two.")

    async def serves_version_two() -> bool:
        question = f"which version {asyncio.get_running_loop().time()}"
        await ask(stack, user_id, question)
        [request] = requests_mentioning(stack.llm, question)
        return system_of(request) == "You are version two."

    await eventually(serves_version_two)

    await ask(stack, ADMIN_ID, "/start")  # Telegram lets a bot write only to users who started it
    admin_before = len(await _messages(stack, ADMIN_ID))
    path.write_text(path.read_text(encoding="utf-8").replace("greeting:", "greting:"), "utf-8")

    async def admin_told() -> bool:
        return len(await _messages(stack, ADMIN_ID)) > admin_before

    await eventually(admin_told)
    notice = (await _messages(stack, ADMIN_ID))[-1]["text"]
    assert notice.startswith("⚠️ A character file has an error")
    assert f"{path}: greeting: this field is required; add it" in notice
    await ask(stack, user_id, "still there?")
    [request] = requests_mentioning(stack.llm, "still there?")
    assert system_of(request) == "You are version two."


async def test_a_removed_character_falls_back_with_a_notice(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    character_id = f"gone{user_id}"
    path = write_character(stack, character_id, "You will be removed.")
    await eventually(lambda: _listed(stack, user_id, character_id))
    await choose(stack, user_id, character_id)
    path.unlink()

    async def gone() -> bool:
        return not await _listed(stack, user_id, character_id)

    await eventually(gone)
    before = len(await stack.telegram.bot_messages(user_id))
    await stack.telegram.send(user_id, "hello after removal")
    messages = await stack.telegram.wait_bot_messages(user_id, before + 2, timeout=15)
    assert messages[before]["text"].startswith(f"The character of this chat ({character_id})")
    [request] = requests_mentioning(stack.llm, "hello after removal")
    assert system_of(request) == SYSTEM_PROMPT


async def _listed(stack: Stack, user_id: int, character_id: str) -> bool:
    menu = await ask(stack, user_id, "/setcharacter")
    return f"Captain {character_id}" in button_data(menu)


async def _messages(stack: Stack, chat_id: int) -> list[dict[str, Any]]:
    try:
        return list(await stack.telegram.bot_messages(chat_id))
    except Exception:  # the admin's chat exists only once the bot wrote to it
        return []
