"""Character files: `characters/<id>.md`, YAML front matter plus the prompt as the body.

Operators edit these, so every mistake is reported with the file, the field and the fix, and a
file with a mistake is never half used.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.operator_files import OperatorFileError, check_id, parse
from bot.tools.names import ToolReference, unknown_servers

LANGUAGES = ("en", "ru")
CHARACTER_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
Language = Literal["en", "ru"]


class CharacterFileError(OperatorFileError):
    """A character file is not valid; the message names the file, the field and the fix."""


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)


class _FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: dict[Language, str]
    description: dict[Language, str]
    greeting: dict[Language, str]
    model: str | None = None
    sampling: _Sampling = _Sampling()
    tags: list[str] = Field(default_factory=list)
    routing: bool = True
    # The tools this character may use; unset: whatever the route offers; []: none. Built-in
    # names, `server.tool` or `server.*` for an MCP server's tools.
    tools: list[ToolReference] | None = None
    deny_tools: list[ToolReference] = Field(default_factory=list)  # never offered
    prompt_variants: dict[Language, str] = Field(default_factory=dict)

    @field_validator("name", "description", "greeting")
    @classmethod
    def _every_language(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in LANGUAGES if not value.get(lang, "").strip()]
        if missing:
            raise ValueError(f"add the text for {', '.join(missing)}")
        return {k: v.strip() for k, v in value.items()}

    @field_validator("description")
    @classmethod
    def _short(cls, value: dict[str, str]) -> dict[str, str]:
        for lang, text in value.items():
            if len(text) > 120:
                raise ValueError(f"{lang} is {len(text)} characters; keep it to 120")
        return value


@dataclass(frozen=True, slots=True)
class Character:
    id: str
    name: Mapping[str, str]
    description: Mapping[str, str]
    greeting: Mapping[str, str]
    prompt: str
    prompt_variants: Mapping[str, str] = field(default_factory=dict)
    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    tags: tuple[str, ...] = ()
    routing: bool = True
    tools: frozenset[str] | None = None  # None: no restriction of its own
    deny_tools: frozenset[str] = frozenset()
    digest: str = ""

    def text(self, texts: Mapping[str, str], locale: str) -> str:
        return texts.get(locale) or texts["en"]

    def prompt_for(self, locale: str | None) -> str:
        return self.prompt_variants.get(locale or "", self.prompt)


def is_valid_id(value: str) -> bool:
    """Safe slugs only: no path separators, dots or absolute paths can reach the disk."""
    return CHARACTER_ID.fullmatch(value) is not None


def load_character(
    path: Path,
    models: Collection[str] | None = None,
    tool_servers: Collection[str] | None = None,
) -> Character:
    """`models`: the configured model ids (a character's `model` must be one of them);
    `tool_servers`: the configured MCP servers (its tool references must name those)."""
    if not is_valid_id(path.stem):
        raise CharacterFileError(
            f"{path}: the file name must be <id>.md with an id of lowercase letters, digits, "
            "'_' or '-' (at most 40 characters); rename the file"
        )
    parsed = parse(path, _FrontMatter, "the character's", CharacterFileError)
    meta = parsed.meta
    check_id(path, meta.id, CharacterFileError)
    if models is not None and meta.model is not None and meta.model not in models:
        raise CharacterFileError(
            f"{path}: model: '{meta.model}' is not a configured model (defined: "
            f"{', '.join(sorted(models))}); pick one of those or remove the line"
        )
    if tool_servers is not None:
        _check_tool_servers(path, meta, tool_servers)
    prompt = parsed.body
    if not prompt:
        raise CharacterFileError(
            f"{path}: the prompt is empty; write the character's prompt below the front matter"
        )
    return Character(
        id=meta.id,
        name={str(k): v for k, v in meta.name.items()},
        description={str(k): v for k, v in meta.description.items()},
        greeting={str(k): v for k, v in meta.greeting.items()},
        prompt=prompt,
        prompt_variants={str(k): v.strip() for k, v in meta.prompt_variants.items() if v.strip()},
        model=meta.model,
        temperature=meta.sampling.temperature,
        top_p=meta.sampling.top_p,
        max_tokens=meta.sampling.max_tokens,
        tags=tuple(meta.tags),
        tools=None if meta.tools is None else frozenset(meta.tools),
        deny_tools=frozenset(meta.deny_tools),
        routing=meta.routing,
        digest=hashlib.sha256(parsed.raw.encode()).hexdigest()[:16],
    )


def _check_tool_servers(path: Path, meta: _FrontMatter, servers: Collection[str]) -> None:
    for field_name, references in (("tools", meta.tools or ()), ("deny_tools", meta.deny_tools)):
        missing = unknown_servers(references, servers)
        if missing:
            defined = ", ".join(sorted(servers)) or "none"
            raise CharacterFileError(
                f"{path}: {field_name}: {', '.join(missing)} is not an MCP server of the "
                f"configuration ([mcp.servers.*] defines: {defined}); fix the name or add the "
                "server"
            )
