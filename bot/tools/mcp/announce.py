"""How MCP servers tell the operators (in Telegram) that they failed or came back."""

from __future__ import annotations

from typing import Protocol


class Announce(Protocol):
    """Sends every operator the message of a locale key with its arguments."""

    async def __call__(self, key: str, **args: str) -> None: ...
