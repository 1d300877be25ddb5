"""Whether the process is stopping: an answer cut short by a shutdown is not a failure."""

from __future__ import annotations

import asyncio


class Lifecycle:
    def __init__(self) -> None:
        self._stopping = asyncio.Event()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Stop taking new work; answers in flight finish or are left for the next start."""
        self._stopping.set()

    async def wait_stopping(self) -> None:
        await self._stopping.wait()
