"""Build a provider request off the event loop when it carries large attachments.

Base64 of a 20 MB PDF takes ~90 ms; on the event loop that would stall every other chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from bot.llm.types import ChatRequest

T = TypeVar("T")

OFF_LOOP_BYTES = 512 * 1024  # below this, a thread hop costs more than it saves


async def encoded(request: ChatRequest, build: Callable[[], T]) -> T:
    """`build()` (which encodes `request`), in a worker thread if the request is heavy."""
    if request.attachment_bytes > OFF_LOOP_BYTES:
        return await asyncio.to_thread(build)
    return build()
