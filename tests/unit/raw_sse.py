"""A loopback HTTP server that answers with SSE bodies given byte for byte.

The scripted LLM server renders well-formed streams; this one serves what it cannot: servers'
quirks (Ollama's parallel calls at index 0), mid-stream error events, CRLF line ends,
comments, and events split anywhere across network writes (inside a UTF-8 character too).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.serving import LoopbackServer


@dataclass(frozen=True)
class RawReply:
    """Written piece by piece, each flushed after a short pause; `cut`: the connection is
    dropped after the pieces (a truncated chunked body) instead of ended cleanly."""

    pieces: tuple[bytes, ...]
    cut: bool = False


class RawSSEServer(LoopbackServer):
    """Serves queued replies on the OpenAI and Anthropic streaming paths, in order."""

    label = "raw SSE server"

    def __init__(self, gap_s: float = 0.005) -> None:
        self._replies: list[RawReply] = []
        self._gap_s = gap_s
        self.peers: list[object] = []  # the client's address of each request
        app = web.Application()
        app.add_routes(
            [web.post("/v1/chat/completions", self._serve), web.post("/v1/messages", self._serve)]
        )
        super().__init__(app)

    def queue(self, *pieces: bytes, cut: bool = False) -> None:
        self._replies.append(RawReply(pieces, cut))

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        reply = self._replies.pop(0)
        transport = request.transport
        self.peers.append(None if transport is None else transport.get_extra_info("peername"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for piece in reply.pieces:
            await response.write(piece)
            await asyncio.sleep(self._gap_s)  # separate reads on the client's side
        if reply.cut and request.transport is not None:
            request.transport.abort()
            return response
        await response.write_eof()
        return response


def sse(data: str, event: str | None = None, eol: str = "\n") -> bytes:
    """One event as a server writes it."""
    head = f"event: {event}{eol}" if event else ""
    return f"{head}data: {data}{eol}{eol}".encode()


# --- OpenAI Chat Completions chunks ---------------------------------------------------------


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    """A chunk with one choice: its delta and finish reason."""
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c1", "object": "chat.completion.chunk", "choices": [choice]}
    return sse(json.dumps(body, ensure_ascii=False))


def usage_chunk(prompt: int, completion: int) -> bytes:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion}
    return sse(json.dumps({"id": "c1", "choices": [], "usage": usage}))


# --- Anthropic Messages events -------------------------------------------------------------


def anthropic_event(kind: str, eol: str = "\n", **payload: Any) -> bytes:
    return sse(json.dumps({"type": kind, **payload}), event=kind, eol=eol)


def anthropic_start(input_tokens: int = 3, eol: str = "\n") -> bytes:
    usage = {"input_tokens": input_tokens, "output_tokens": 1}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "usage": usage}
    return anthropic_event("message_start", eol, message=message)


def text_block(index: int, *texts: str, eol: str = "\n") -> list[bytes]:
    """A text block's start and deltas (its stop is the caller's)."""
    start = {"type": "text", "text": ""}
    events = [anthropic_event("content_block_start", eol, index=index, content_block=start)]
    events += [
        anthropic_event(
            "content_block_delta", eol, index=index, delta={"type": "text_delta", "text": t}
        )
        for t in texts
    ]
    return events
