"""Operators change characters from Telegram: the file changes atomically, a revision keeps the
old text, revert restores it exactly, and everyone else is refused every operator command."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ADMIN_ID, Stack
from tests.e2e.test_characters import choose, eventually, write_character
from tests.e2e.test_chat import ask, openai_messages, requests_mentioning
from tests.e2e.test_commands import press

pytestmark = pytest.mark.e2e

OPERATOR_COMMANDS = (
    "/route hello",
    "/characters",
    "/character_show assistant",
    "/character_edit assistant",
    "/character_new somebody",
    "/character_history assistant",
    "/character_revert assistant 1",
)


async def test_every_operator_command_is_refused_to_others(
    polling_stack: Stack, user_id: int
) -> None:
    for command in OPERATOR_COMMANDS:
        reply = await ask(polling_stack, user_id, command)
        assert reply["text"] == "This command is for the bot's operators.", command


async def edit_from_telegram(stack: Stack, command: str, prompt: str) -> str:
    asked = await ask(stack, ADMIN_ID, command)
    assert asked["text"].startswith("Send the new prompt of")
    preview = await ask(stack, ADMIN_ID, prompt)
    assert prompt in preview["text"]
    answer, message = await press(stack, ADMIN_ID, ADMIN_ID, preview["message_id"], "chedit:1")
    assert answer["text"] == message["text"]
    return str(message["text"])


async def test_an_edit_from_telegram_is_saved_with_a_revision_and_reverts_exactly(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    character_id = f"admined{user_id}"
    path = write_character(stack, character_id, "You are the original.")
    original = path.read_text(encoding="utf-8")
    await eventually(lambda: _listed(stack, character_id))

    saved = await edit_from_telegram(
        stack, f"/character_edit {character_id}", "You are the edited one."
    )
    assert saved == f'Saved "{character_id}" as revision 1; it is in service now.'
    edited = path.read_text(encoding="utf-8")
    assert edited.endswith("---\nYou are the edited one.\n")
    assert edited.split("---\n")[1] == original.split("---\n")[1]  # front matter kept
    assert not [p for p in stack.characters.iterdir() if p.suffix == ".tmp"]

    await choose(stack, user_id, character_id)  # and its greeting, before the question
    await ask(stack, user_id, "who are you now?")
    [request] = requests_mentioning(stack.llm, "who are you now?")
    assert openai_messages(request)[0] == ("system", "You are the edited one.")

    history = await ask(stack, ADMIN_ID, f"/character_history {character_id}")
    assert history["text"].splitlines()[1].startswith(f"#1 edit by {ADMIN_ID}, ")

    reverted = await ask(stack, ADMIN_ID, f"/character_revert {character_id} 0")
    assert reverted["text"] == f'"{character_id}" is back to revision 0 (recorded as revision 2).'
    assert path.read_text(encoding="utf-8") == original


async def test_a_new_character_from_telegram_is_listed(polling_stack: Stack, user_id: int) -> None:
    stack = polling_stack
    character_id = f"fresh{user_id}"
    saved = await edit_from_telegram(stack, f"/character_new {character_id}", "You are brand new.")
    assert saved == f'Saved "{character_id}" as revision 1; it is in service now.'
    listing = await ask(stack, ADMIN_ID, "/characters")
    assert f"• {character_id}: {character_id}" in listing["text"]
    again = await ask(stack, ADMIN_ID, f"/character_new {character_id}")
    assert again["text"].startswith(f'The character "{character_id}" already exists')
    bad = await ask(stack, ADMIN_ID, "/character_edit ../etc/passwd")
    assert bad["text"].startswith('"../etc/passwd" is not a character id')


async def _listed(stack: Stack, character_id: str) -> bool:
    listing = await ask(stack, ADMIN_ID, "/characters")
    return f"• {character_id}:" in listing["text"]
