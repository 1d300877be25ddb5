"""The characters being served, kept in step with `characters/` without a restart.

A file that becomes invalid keeps its last good version in service (its error is reported once
per edit); a removed file retires its character. Reading the folder is blocking file I/O, so the
watcher does it in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from watchfiles import awatch

from bot.characters.files import Character, CharacterFileError, load_character

logger = logging.getLogger(__name__)

Problem = Callable[[str], Awaitable[None]]
"""Told (once per broken edit) what is wrong with a file, for the operators."""


@dataclass(slots=True)
class ScanReport:
    loaded: list[str] = field(default_factory=list)  # new or changed characters now served
    retired: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # new errors, one line each


class CharacterCatalog:
    def __init__(
        self,
        directory: Path,
        models: Collection[str] | None = None,
        tool_servers: Collection[str] | None = None,
    ) -> None:
        self.directory = directory
        self._models = models
        self.tool_servers = tool_servers  # the MCP servers tool references may name
        self._characters: dict[str, Character] = {}
        self._errors: dict[str, str] = {}  # file name -> the error last reported for it
        self._scanning = threading.Lock()  # the watcher and the editor both rescan

    def get(self, character_id: str | None) -> Character | None:
        return self._characters.get(character_id) if character_id else None

    def all(self, locale: str) -> list[Character]:
        return sorted(self._characters.values(), key=lambda c: c.text(c.name, locale).lower())

    def errors(self) -> dict[str, str]:
        """File name -> its current error (the character, if any, is served as it was)."""
        return dict(self._errors)

    def scan(self) -> ScanReport:
        """Read the folder (blocking) and update what is served."""
        with self._scanning:
            return self._scan()

    def _scan(self) -> ScanReport:
        report = ScanReport()
        paths = sorted(self.directory.glob("*.md")) if self.directory.is_dir() else []
        present = {path.stem for path in paths}
        for path in paths:
            try:
                character = load_character(path, self._models, self.tool_servers)
            except (CharacterFileError, OSError) as exc:
                message = str(exc)
                if self._errors.get(path.name) != message:
                    self._errors[path.name] = message
                    report.problems.append(message)
                    kept = (
                        " (the previous version stays in service)"
                        if path.stem in self._characters
                        else ""
                    )
                    logger.error("characters: %s%s", message, kept)
                continue
            self._errors.pop(path.name, None)
            previous = self._characters.get(character.id)
            if previous is None or previous.digest != character.digest:
                self._characters[character.id] = character
                report.loaded.append(character.id)
        for character_id in sorted(set(self._characters) - present):
            del self._characters[character_id]
            report.retired.append(character_id)
            logger.info("characters: %s retired (its file was removed)", character_id)
        for name in [n for n in self._errors if Path(n).stem not in present]:
            del self._errors[name]
        return report

    async def watch(self, on_problem: Problem, *, debounce_ms: int = 300) -> None:
        """Rescan on every change of the folder until cancelled."""
        self.directory.mkdir(parents=True, exist_ok=True)
        async for _changes in awatch(self.directory, debounce=debounce_ms, recursive=False):
            report = await asyncio.to_thread(self.scan)
            if report.loaded or report.retired:
                logger.info(
                    "characters: reloaded %s; retired %s",
                    ", ".join(report.loaded) or "none",
                    ", ".join(report.retired) or "none",
                )
            for problem in report.problems:
                try:
                    await on_problem(problem)
                except Exception:  # telling the operators must never stop the watcher
                    logger.exception("characters: could not report a problem")
