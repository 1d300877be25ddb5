"""Tool names: the built-in ones, MCP tools as people see them (`server.tool`) and as models
see them (`server__tool`), and the references route and character files use to allow or deny
tools (`web_search`, `wiki.search`, `wiki.*`).

OpenAI and Anthropic accept function names matching `^[a-zA-Z0-9_-]{1,64}$` only, so a dot
never reaches a model: `wire_name` encodes a server's tool into that alphabet, and the
toolbox maps the encoded name back to the tool it came from by lookup, never by parsing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Container
from dataclasses import dataclass, field
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator

BuiltinToolName = Literal["web_search", "fetch_url", "calculator", "current_time", "generate_image"]
BUILTIN_TOOLS: tuple[str, ...] = get_args(BuiltinToolName)

SERVER_ID_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
"""MCP server ids in config.toml: no '_' or '.', so `server__tool` and `server.tool` split
at the first separator."""
SERVER_ID = re.compile(SERVER_ID_PATTERN)
WIRE_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_WIRE_CHARS = 64
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def wire_name(server: str, tool: str, taken: Container[str]) -> str:
    """A provider-safe name for `server`'s `tool`: `server__tool`, other characters as '_',
    cut to 64 with a short hash when too long or when the name is `taken` already."""
    name = f"{server}__{_UNSAFE.sub('_', tool)}"
    if len(name) <= MAX_WIRE_CHARS and name not in taken:
        return name
    digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()
    for size in range(6, len(digest) + 1):
        candidate = f"{name[: MAX_WIRE_CHARS - size - 1]}-{digest[:size]}"
        if candidate not in taken:
            return candidate
    raise ValueError(f"no free name for {server}.{tool}")  # 2^256 collisions first


def check_reference(value: str) -> str:
    """A tool reference of a route or character file: a built-in tool, `server.tool` or
    `server.*`; ValueError saying what is allowed."""
    text = value.strip()
    if text in BUILTIN_TOOLS:
        return text
    server, dot, tool = text.partition(".")
    if dot and SERVER_ID.match(server) and tool and not tool.isspace():
        return text
    raise ValueError(
        f"'{value}' is not a tool: write one of {', '.join(BUILTIN_TOOLS)}, or "
        "<server>.<tool> / <server>.* for the tools of an MCP server of config.toml"
    )


ToolReference = Annotated[str, AfterValidator(check_reference)]
"""A tool reference in an operator file, checked as it is read."""


def reference_server(reference: str) -> str | None:
    """The MCP server a reference names, None for a built-in tool."""
    server, dot, _ = reference.partition(".")
    return server if dot else None


def unknown_servers(references: Collection[str], servers: Collection[str]) -> list[str]:
    """The MCP servers the references name that are not configured."""
    named = {reference_server(r) for r in references} - {None}
    return sorted(s for s in named if s is not None and s not in servers)


def matches(reference: str, label: str, server: str | None) -> bool:
    """Whether a reference names a tool (its `label`: built-in name or `server.tool`)."""
    if reference.endswith(".*"):
        return server is not None and reference[:-2] == server
    return reference == label


@dataclass(frozen=True, slots=True)
class ToolRule:
    """A route's or character's tools: only those `allow`ed (None: all), never those denied."""

    allow: frozenset[str] | None = None
    deny: frozenset[str] = field(default_factory=frozenset)

    def permits(self, label: str, server: str | None) -> bool:
        if any(matches(ref, label, server) for ref in self.deny):
            return False
        return self.allow is None or any(matches(ref, label, server) for ref in self.allow)
