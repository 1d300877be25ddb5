"""Build a provider request off the event loop when it carries large attachments.

Base64 of a 20 MB PDF takes ~90 ms; on the event loop that would stall every other chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from bot.llm.types import ChatRequest

T = TypeVar("T")

OFF_LOOP_BYTES = 512 * 1024  # below this, a thread hop costs more than it saves


async def encoded(build: Callable[..., T], *args: Any) -> T:
    """`build(*args)`, in a worker thread if the (last) ChatRequest argument is heavy."""
    request = next((a for a in reversed(args) if isinstance(a, ChatRequest)), None)
    if request is not None and request.attachment_bytes > OFF_LOOP_BYTES:
        return await asyncio.to_thread(build, *args)
    return build(*args)
