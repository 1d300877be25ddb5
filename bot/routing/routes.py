"""Route files: `routes/<id>.md`, YAML front matter plus the route's instructions as the body.

Operators edit these files, so a mistake is reported with the file, the field and the fix, and
nothing half-valid is ever used.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.operator_files import (
    OperatorFileError,
    check_id,
    every_language,
    examples_per_language,
    load_folder,
    parse,
)
from bot.tools.names import ToolReference, unknown_servers

LANGUAGES = ("en", "ru")
MIN_EXAMPLES = 40
MAX_ROUTED_CHARS = 2000
"""Routing reads the start of a message: a long paste says early what it is about, and the
classifier costs about 1 ms per 1000 characters on the event loop."""
ROUTE_ID = re.compile(r"[a-z][a-z0-9_]{0,31}")
Capability = Literal["vision", "tools", "pdf_native"]


class RouteFileError(OperatorFileError):
    """A route file (or the set of them) is not valid; the message names file, field and fix."""


class _FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: Annotated[
        dict[Literal["en", "ru"], str], every_language(LANGUAGES, "a one-line description")
    ]
    preferred_models: list[str] = Field(default_factory=list)
    requires: list[Capability] = Field(default_factory=list)
    # The tools offered on this route; unset: every tool the bot has; []: none. Built-in
    # names, `server.tool` or `server.*` for an MCP server's tools.
    tools: list[ToolReference] | None = None
    deny_tools: list[ToolReference] = Field(default_factory=list)  # never offered here
    error_target: float = Field(default=0.05, gt=0, lt=0.5)
    examples: Annotated[
        dict[Literal["en", "ru"], list[str]],
        examples_per_language(
            LANGUAGES, MIN_EXAMPLES, "messages in {language} that belong to this route"
        ),
    ]


@dataclass(frozen=True, slots=True)
class Route:
    id: str
    description: Mapping[str, str]
    preferred_models: tuple[str, ...]
    requires: frozenset[str]
    error_target: float
    examples: Mapping[str, tuple[str, ...]]
    instructions: str
    path: Path
    tools: frozenset[str] | None = None
    deny_tools: frozenset[str] = frozenset()

    def labelled_examples(self) -> Iterator[tuple[str, str]]:
        """(text, language) pairs."""
        for language, texts in self.examples.items():
            for text in texts:
                yield text, language


@dataclass(frozen=True, slots=True)
class RouteBook:
    """All routes of a deployment, and a hash of their files (what a trained model depends on)."""

    routes: Mapping[str, Route]
    default: str
    digest: str

    def __getitem__(self, route_id: str) -> Route:
        return self.routes[route_id]

    def __contains__(self, route_id: object) -> bool:
        return route_id in self.routes

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.routes)

    def training_data(self) -> tuple[list[str], list[str], list[str]]:
        """Texts, their routes and their languages, in a stable order."""
        texts: list[str] = []
        labels: list[str] = []
        languages: list[str] = []
        for route in self.routes.values():
            for text, language in route.labelled_examples():
                texts.append(text)
                labels.append(route.id)
                languages.append(language)
        return texts, labels, languages


def load_routes(directory: Path, *, default: str = "chat") -> RouteBook:
    if not directory.is_dir():
        raise RouteFileError(
            f"{directory}: the routes directory does not exist; set routing.routes_dir to the "
            "folder with the route files (the project ships one as routes/)"
        )
    loaded, digest = load_folder(directory, load_route)
    routes = {route.id: route for route in loaded}
    if len(routes) < 2:
        raise RouteFileError(
            f"{directory}: found {len(routes)} route file(s); routing needs at least two "
            "routes/<id>.md files"
        )
    if default not in routes:
        raise RouteFileError(
            f"{directory}: routing.default_route is '{default}', but there is no "
            f"{directory / (default + '.md')}; add it or pick one of {', '.join(routes)}"
        )
    return RouteBook(routes=routes, default=default, digest=digest)


def load_route(path: Path) -> Route:
    stem = path.stem
    if not ROUTE_ID.fullmatch(stem):
        raise RouteFileError(
            f"{path}: the file name must be <id>.md with an id of lowercase letters, digits "
            "and '_' (starting with a letter, at most 32 characters); rename the file"
        )
    parsed = parse(path, _FrontMatter, "the route's", RouteFileError)
    meta = parsed.meta
    check_id(path, meta.id, RouteFileError)
    instructions = parsed.body
    if not instructions:
        raise RouteFileError(
            f"{path}: the body is empty; write the route's instructions for the model below "
            "the front matter"
        )
    return Route(
        id=meta.id,
        description={str(k): v for k, v in meta.description.items()},
        preferred_models=tuple(meta.preferred_models),
        requires=frozenset(meta.requires),
        error_target=meta.error_target,
        examples={lang: tuple(texts) for lang, texts in meta.examples.items()},
        instructions=instructions,
        path=path,
        tools=None if meta.tools is None else frozenset(meta.tools),
        deny_tools=frozenset(meta.deny_tools),
    )


def check_tool_servers(book: RouteBook, servers: Collection[str]) -> None:
    """RouteFileError when a route's `tools` or `deny_tools` names an MCP server that the
    configuration does not define (a misspelt denial would deny nothing)."""
    for route in book.routes.values():
        for field, references in (("tools", route.tools or ()), ("deny_tools", route.deny_tools)):
            missing = unknown_servers(references, servers)
            if missing:
                defined = ", ".join(sorted(servers)) or "none"
                raise RouteFileError(
                    f"{route.path}: {field}: {', '.join(missing)} is not an MCP server of the "
                    f"configuration ([mcp.servers.*] defines: {defined}); fix the name or add "
                    "the server"
                )
