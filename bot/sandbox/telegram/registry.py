"""The table of Bot API methods the sandbox implements (names are case-insensitive)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Core

Handler = Callable[["Core", dict[str, Any]], Awaitable[Any]]

HANDLERS: dict[str, tuple[str, Handler]] = {}


def api_method(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler under one or more Bot API method names."""

    def register(handler: Handler) -> Handler:
        for name in names:
            HANDLERS[name.lower()] = (name, handler)
        return handler

    return register


def lookup(method: str) -> tuple[str, Handler] | None:
    return HANDLERS.get(method.lower())
