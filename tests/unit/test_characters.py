"""Character files, the catalog that follows the folder, and what a chat takes from one."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.characters.catalog import CharacterCatalog
from bot.characters.files import CharacterFileError, is_valid_id, load_character
from bot.characters.service import CharacterService, with_character
from bot.storage.database import Database, open_database
from bot.storage.dto import Chat, Role, StoredMessage
from bot.storage.migrate import upgrade
from bot.storage.uow import UnitOfWork

SHIPPED = Path(__file__).parents[2] / "characters"

GOOD = """---
id: pirate
name:
  en: "Pirate"
  ru: "Пират"
description:
  en: "Talks like a pirate."
  ru: "Говорит как пират."
greeting:
  en: "Ahoy!"
  ru: "Йо-хо-хо!"
sampling:
  temperature: 0.9
routing: false
prompt_variants:
  ru: "Ты пират."
---
You are a pirate.
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path, models: list[str] | None = None) -> str:
    with pytest.raises(CharacterFileError) as info:
        load_character(path, models)
    return str(info.value)


def test_the_shipped_characters_are_complete_in_both_languages() -> None:
    catalog = CharacterCatalog(SHIPPED)
    report = catalog.scan()
    assert report.problems == []
    assert len(catalog.all("en")) >= 5
    for character in catalog.all("ru"):
        assert character.name["ru"]
        assert character.greeting["ru"]
        assert character.prompt_for("ru") != character.prompt  # a Russian prompt variant


def test_a_valid_file_loads_with_its_sampling_and_prompt_variant(tmp_path: Path) -> None:
    character = load_character(write(tmp_path, "pirate.md", GOOD), ["gpt"])
    assert (character.temperature, character.routing) == (0.9, False)
    assert character.prompt_for("ru") == "Ты пират."
    assert character.prompt_for("en") == character.prompt_for(None) == "You are a pirate."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("routing:", "routeing:"), "routeing: unknown field"),
        (GOOD.replace('  ru: "Йо-хо-хо!"\n', ""), "greeting: add the text for ru"),
        (GOOD.replace("temperature: 0.9", "temperature: 7"), "sampling.temperature:"),
        (GOOD.replace("id: pirate", "id: parrot"), "id: 'parrot' does not match the file name"),
        (GOOD.replace("You are a pirate.\n", ""), "the prompt is empty"),
        (GOOD.replace("routing: false", "model: gpt-9"), "model: 'gpt-9' is not a configured"),
    ],
)
def test_invalid_files_name_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    message = refusal(write(tmp_path, "pirate.md", text), ["gpt"])
    assert message.startswith(f"{tmp_path / 'pirate.md'}: ")
    assert expected in message


def test_ids_are_safe_slugs() -> None:
    assert is_valid_id("language_partner")
    for bad in ("../etc/passwd", "/etc/passwd", "a/b", "x.md", "Upper", "", "a" * 41):
        assert not is_valid_id(bad)


def test_an_invalid_edit_keeps_the_last_good_version_and_is_reported_once(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "pirate.md", GOOD)
    catalog = CharacterCatalog(tmp_path)
    assert catalog.scan().loaded == ["pirate"]
    path.write_text(GOOD.replace("routing:", "routeing:"), encoding="utf-8")
    first = catalog.scan()
    assert len(first.problems) == 1
    assert catalog.scan().problems == []  # the same broken file is not reported again
    served = catalog.get("pirate")
    assert served is not None
    assert served.prompt == "You are a pirate."
    path.write_text(GOOD.replace("You are a pirate.", "You are a polite pirate."), "utf-8")
    assert catalog.scan().loaded == ["pirate"]
    assert catalog.errors() == {}
    path.unlink()
    assert catalog.scan().retired == ["pirate"]
    assert catalog.get("pirate") is None


async def test_the_watcher_serves_an_edit_without_a_restart(tmp_path: Path) -> None:
    path = write(tmp_path, "pirate.md", GOOD)
    catalog = CharacterCatalog(tmp_path)
    catalog.scan()
    problems: list[str] = []

    async def collect(problem: str) -> None:
        problems.append(problem)

    watcher = asyncio.create_task(catalog.watch(collect, debounce_ms=50))
    try:
        await asyncio.sleep(0.5)  # the watcher is listening
        path.write_text(GOOD.replace("You are a pirate.", "You are a sleepy pirate."), "utf-8")
        await until(lambda: _prompt(catalog) == "You are a sleepy pirate.")
        path.write_text(GOOD.replace("greeting:", "greting:"), encoding="utf-8")
        await until(lambda: bool(problems))
        assert "greeting: this field is required; add it" in problems[0]
        assert _prompt(catalog) == "You are a sleepy pirate."
    finally:
        watcher.cancel()


def _prompt(catalog: CharacterCatalog) -> str | None:
    character = catalog.get("pirate")
    return character.prompt if character else None


async def until(condition: object, seconds: float = 10.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the time limit"
        await asyncio.sleep(0.05)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}")
    await upgrade(db)
    yield db
    await db.close()


async def test_choosing_starts_a_conversation_with_the_greeting_and_removal_retires(
    tmp_path: Path, db: Database
) -> None:
    folder = tmp_path / "characters"
    folder.mkdir()
    write(folder, "pirate.md", GOOD)
    catalog = CharacterCatalog(folder)
    catalog.scan()
    service = CharacterService(db, catalog)
    await db.write(lambda unit: unit.chats.upsert(7, type_="private", title=None))
    await service.choose(7, "pirate", "ru")

    def read(unit: UnitOfWork) -> tuple[Chat, list[StoredMessage]]:
        chat = unit.chats.get(7)
        assert chat is not None
        assert chat.current_conversation_id is not None
        return chat, unit.messages.history(chat.current_conversation_id, limit=5)

    chat, history = await db.read(read)
    assert chat.character_id == "pirate"
    assert [(m.role, m.text) for m in history] == [(Role.ASSISTANT, "Йо-хо-хо!")]

    shutil.rmtree(folder)
    catalog.scan()
    retired = await service.retire_if_gone(chat)
    assert retired.character_id is None
    stored = await db.read(lambda unit: unit.chats.get(7))
    assert stored is not None
    assert stored.character_id is None


def test_the_character_fills_what_the_chat_has_not_set() -> None:
    character = load_character(write_tmp(GOOD), None)
    chat = Chat(1, "private", None, None, None, None, 0.2, None, None, character_id="pirate")
    seen = with_character(chat, character)
    assert (seen.temperature, seen.top_p, seen.routing_enabled) == (0.9, 0.2, False)
    own = with_character(Chat(1, "private", None, None, None, 0.1, None, None, None), character)
    assert own.temperature == 0.1


def write_tmp(text: str) -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    return write(folder, "pirate.md", text)


def test_the_list_is_paginated_with_the_current_one_marked(tmp_path: Path) -> None:
    from bot.i18n import I18n
    from bot.keyboards.characters import CharacterPage, characters_keyboard

    for index in range(8):
        write(tmp_path, f"c{index}.md", GOOD.replace("pirate", f"c{index}"))
    catalog = CharacterCatalog(tmp_path)
    catalog.scan()
    t = I18n(Path(__file__).parents[2] / "locales", "en").translator("en")
    listed = catalog.all("en")
    first = [b for row in characters_keyboard(listed, 0, "c1", t).inline_keyboard for b in row]
    assert [b.text for b in first][:2] == ["Pirate", "✅ Pirate"]
    assert len(first) == 6 + 1 + 1  # six characters, ➡️, "no character"
    assert first[6].callback_data == CharacterPage(page=1).pack()
    second = [b for row in characters_keyboard(listed, 1, None, t).inline_keyboard for b in row]
    assert [b.text for b in second] == ["Pirate", "Pirate", "⬅️", "✅ No character"]
