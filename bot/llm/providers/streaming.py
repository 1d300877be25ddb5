"""Reading a model's streamed body: the bytes as they arrive, through a protocol's parser.

The SDKs still build and send the request and turn error statuses into their exceptions; the
body is read here, so that each chunk is parsed once, into plain dicts (orjson), instead of
into the SDKs' pydantic objects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from types import ModuleType
from typing import Any, Protocol

from bot.llm.errors import map_sdk_error
from bot.llm.types import StreamEvent

DRAIN_SECONDS = 0.1
"""How long to read on after the end marker so that the connection can be reused."""

PLAIN_BODY_KEYS = ("messages", "system", "tools", "response_format")
"""Request fields handed to the SDK as `extra_body`, which goes into the JSON as it is.

As keyword arguments, the SDKs walk them against their TypedDicts before sending (looking for
aliases and file-like values to encode, which plain JSON like ours never has): about 17 ms of
CPU per turn with a long conversation, growing with its length (py-spy, one chat, instant
model). The required `messages` is then given as an empty list that `extra_body` replaces."""


class StreamParser(Protocol):
    """One protocol's stream: bytes in, events out."""

    @property
    def done(self) -> bool:
        """The end marker was read: what follows it is not the answer."""
        ...

    def feed(self, chunk: bytes) -> Iterator[StreamEvent]:
        """The events the chunk completes, in order; raises `LLMError` at an error event
        (after the events before it)."""
        ...

    def finish(self) -> list[StreamEvent]:
        """Events due when the stream has ended well."""
        ...


async def sdk_stream(
    params: Callable[[], Awaitable[dict[str, Any]]],
    create: Callable[..., AbstractAsyncContextManager[Any]],
    parser: StreamParser,
    sdk: ModuleType,
) -> AsyncGenerator[StreamEvent, None]:
    """The events of one streamed request: `create` (an SDK's `with_streaming_response`
    method) sends it and raises the SDK's errors for error statuses; the body is read here (the
    SDK's stream would make pydantic objects of every event). The SDK's errors come out as
    `LLMError`s; errors building the request's parameters come out as they are. `params` must
    not hold `extra_body` (its heavy fields go there, see PLAIN_BODY_KEYS)."""
    kwargs = await params()
    plain = {key: kwargs.pop(key) for key in PLAIN_BODY_KEYS if key in kwargs}
    try:
        async with (
            create(**kwargs, messages=[], extra_body=plain) as response,
            contextlib.aclosing(
                read_events(response.http_response.aiter_bytes(), parser)
            ) as events,
        ):
            async for event in events:
                yield event
    except Exception as exc:
        raise map_sdk_error(exc, sdk) from exc


async def read_events(
    chunks: AsyncGenerator[bytes, None], parser: StreamParser
) -> AsyncGenerator[StreamEvent, None]:
    """The events of a body. Closing this early closes the body (the connection goes)."""
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            for event in parser.feed(chunk):
                yield event
            if parser.done:
                break
        for event in parser.finish():
            yield event
        if parser.done:
            await _drain(chunks)


async def _drain(chunks: AsyncGenerator[bytes, None]) -> None:
    """Read the rest of the body (over HTTP/1.1 the connection goes back to the pool only
    once it is read), for DRAIN_SECONDS at most."""
    # The answer is complete: nothing that happens after its end may fail it.
    with contextlib.suppress(Exception):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in chunks:
                pass
