"""Changing character files from Telegram: every change validated before it is written,
written atomically, recorded as a revision with the text it replaced, and served at once."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path

from bot.characters.catalog import CharacterCatalog
from bot.characters.files import CharacterFileError, is_valid_id, load_character
from bot.storage.database import Database
from bot.storage.dto import CharacterRevision
from bot.storage.uow import UnitOfWork

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*\r?\n", re.DOTALL)
NEW_CHARACTER = """---
id: {id}
name:
  en: "{id}"
  ru: "{id}"
description:
  en: "A new character; describe it in one line."
  ru: "Новый персонаж; опишите его одной строкой."
greeting:
  en: "Hello!"
  ru: "Привет!"
routing: true
---
"""


class EditError(Exception):
    """A change that cannot be made; `key` and `args` are its localized message."""

    def __init__(self, key: str, **args: object) -> None:
        super().__init__(key)
        self.key = key
        self.args_ = args


class CharacterEditor:
    def __init__(
        self,
        db: Database,
        catalog: CharacterCatalog,
        models: Collection[str],
        changed: Callable[[], None] | None = None,
    ) -> None:
        """`changed`: told after each change is served here (other processes rescan)."""
        self._db = db
        self._catalog = catalog
        self._models = models
        self._changed = changed
        self._lock = asyncio.Lock()  # one change at a time: revisions stay in file order

    def path(self, character_id: str) -> Path:
        if not is_valid_id(character_id):
            raise EditError("character-admin-bad-id", id=character_id)
        return self._catalog.directory / f"{character_id}.md"

    async def text(self, character_id: str) -> str:
        text = await self._read(character_id)
        if text is None:
            raise EditError("character-admin-unknown", id=character_id)
        return text

    async def _read(self, character_id: str) -> str | None:
        """The file's text; None when there is no such file."""
        path = self.path(character_id)
        try:
            return await asyncio.to_thread(path.read_text, encoding="utf-8")
        except FileNotFoundError:
            return None

    async def exists(self, character_id: str) -> bool:
        return await asyncio.to_thread(self.path(character_id).is_file)

    async def set_prompt(
        self, author_id: int, character_id: str, prompt: str, *, new: bool = False
    ) -> int:
        """The file with `prompt` as its body (a new file from a template when `new`);
        returns the revision number."""
        prompt = prompt.strip()
        if not prompt:
            raise EditError("character-admin-empty")
        previous = await self._read(character_id)
        if new and previous is not None:
            raise EditError("character-admin-exists", id=character_id)
        if not new and previous is None:
            raise EditError("character-admin-unknown", id=character_id)
        head = NEW_CHARACTER.format(id=character_id)
        if previous is not None:
            match = _FRONT_MATTER.match(previous)
            head = match.group(0) if match else head
        action = "new" if new else "edit"
        return await self._write(author_id, character_id, f"{head}{prompt}\n", previous, action)

    async def revert(self, author_id: int, character_id: str, revision: int) -> int:
        """The file as it was after `revision` (0: before the first recorded change)."""
        wanted = await self._db.read(lambda uow: uow.revisions.get(character_id, max(revision, 1)))
        if wanted is None:
            raise EditError("character-admin-no-revision", id=character_id, revision=revision)
        text = wanted.new_text if revision > 0 else wanted.previous_text
        if text is None:  # revision 0 of a character created from Telegram: nothing to restore
            raise EditError("character-admin-no-revision", id=character_id, revision=revision)
        previous = await self._read(character_id)
        return await self._write(author_id, character_id, text, previous, "revert")

    async def history(self, character_id: str) -> list[CharacterRevision]:
        return await self._db.read(lambda uow: uow.revisions.history(character_id))

    async def _write(
        self, author_id: int, character_id: str, text: str, previous: str | None, action: str
    ) -> int:
        path = self.path(character_id)
        async with self._lock:
            await asyncio.to_thread(self._validate, character_id, text)

            def record(uow: UnitOfWork) -> int:
                revision = uow.revisions.add(
                    character_id,
                    action=action,
                    author_id=author_id,
                    previous_text=previous,
                    new_text=text,
                )
                _replace_file(path, text)  # with its revision (an operator's edit: rare)
                return revision

            try:
                revision = await self._db.write(record)
            except BaseException:  # the file must not change without its revision
                await asyncio.to_thread(_restore, path, previous)
                raise
            await asyncio.to_thread(self._catalog.scan)  # served from the next message on
            if self._changed is not None:
                self._changed()
        return revision

    def _validate(self, character_id: str, text: str) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            probe = Path(scratch) / f"{character_id}.md"
            probe.write_text(text, encoding="utf-8")
            try:
                load_character(probe, self._models, self._catalog.tool_servers)
            except CharacterFileError as exc:
                message = str(exc).replace(str(probe), f"{character_id}.md")
                raise EditError("character-admin-invalid", error=message) from None


def _replace_file(path: Path, text: str) -> None:
    """Temporary file in the same folder, then rename: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _restore(path: Path, previous: str | None) -> None:
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        _replace_file(path, previous)
