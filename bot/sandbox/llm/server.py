"""The scripted LLM server: OpenAI and Anthropic endpoints on loopback HTTP (aiohttp)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar

from aiohttp import web

from bot.sandbox.llm.anthropic_proto import AnthropicDialect
from bot.sandbox.llm.audio import Stenographer, parse_transcription
from bot.sandbox.llm.control import control_routes
from bot.sandbox.llm.demo import DemoModel
from bot.sandbox.llm.dialect import Dialect
from bot.sandbox.llm.images import ImageRequest, ImageStudio, parse_image_request
from bot.sandbox.llm.openai_proto import OpenAIDialect
from bot.sandbox.llm.plan import ParsedRequest, Plan, ProtocolError, build_plan
from bot.sandbox.llm.script import (
    CountedQueue,
    Fault,
    Knobs,
    KnobStore,
    ReplyEntry,
    ScriptError,
    parse_entries,
    parse_fault,
)
from bot.sandbox.serving import LoopbackServer

log = logging.getLogger(__name__)

OPENAI = OpenAIDialect()
ANTHROPIC = AnthropicDialect()
_POLL_S = 0.05
_MAX_BODY = 64 * 1024 * 1024  # room for base64 images and documents
_EPOCH = "2025-01-01T00:00:00Z"
_INVALID = object()
CHUNK_TIMES_LIMIT = 10_000
"""At most this many per-chunk time stamps are kept in one request's log entry."""
_Serve = Callable[[web.Request, Dialect, dict[str, Any]], Awaitable[web.StreamResponse]]
_P = TypeVar("_P", ParsedRequest, ImageRequest)  # what _admit parses


class _Dropped(Exception):
    """The connection was closed without a (complete) response."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class ScriptedLLM(LoopbackServer):
    """A fake LLM speaking the OpenAI and Anthropic protocols, driven by a script."""

    label = "scripted LLM server"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] = (),
        demo: DemoModel | None = None,
    ) -> None:
        """``demo``: what answers when no scripted reply matches (default: the echo)."""
        self._api_key = api_key
        self._demo = demo
        self._models = list(models)
        self._replies: CountedQueue[ReplyEntry] = CountedQueue()
        self._faults: CountedQueue[Fault] = CountedQueue()
        self._knobs = KnobStore()
        self._log: list[dict[str, Any]] = []
        self._sleepers: set[asyncio.Future[None]] = set()
        self._studio = ImageStudio()
        self.stenographer = Stenographer()
        self._ids = itertools.count(1)
        app = web.Application(client_max_size=_MAX_BODY)
        app.add_routes(
            [
                web.post("/v1/chat/completions", self._openai),
                web.post("/v1/messages", self._anthropic),
                web.get("/v1/models", self._list_models),
                web.post("/v1/images/generations", self._images),
                web.post("/v1/audio/transcriptions", self._transcriptions),
                web.get("/sandbox-images/{name}", self._studio.download),
                *control_routes(self),
            ]
        )
        super().__init__(app)

    # ----- in-process control -------------------------------------------------------------

    def script(self, text: str | None = None, **fields: Any) -> None:
        """Queue a reply (or ``replies=[...]``); see :func:`parse_entry` for the fields."""
        raw = dict(fields) if text is None else {"text": text, **fields}
        self._replies.extend(parse_entries(raw))

    def set_knobs(
        self,
        *,
        ttft_ms: float | None = None,
        token_delay_ms: float | None = None,
        chunk_chars: int | None = None,
        model: str | None = None,
    ) -> None:
        """Change timing knobs (None = unchanged; ``chunk_chars=0`` = back to word chunks)."""
        values = {"ttft_ms": ttft_ms, "token_delay_ms": token_delay_ms, "chunk_chars": chunk_chars}
        self.apply_knobs({k: v for k, v in values.items() if v is not None}, model=model)

    def apply_knobs(self, values: Mapping[str, Any], model: str | None = None) -> None:
        """Knobs as sent over HTTP: present keys are set, ``chunk_chars: null`` = word chunks."""
        self._knobs.update(values, model)

    def add_fault(self, kind: str, **fields: Any) -> None:
        self._faults.extend([parse_fault({"kind": kind, **fields})])

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every protocol request so far, oldest first (snapshots)."""
        return [{**record, "chunk_times": list(record["chunk_times"])} for record in self._log]

    def clear_requests(self) -> None:
        self._log.clear()

    def pending(self) -> dict[str, int]:
        """How many scripted replies and faults are still queued."""
        return {"replies": len(self._replies.items()), "faults": len(self._faults.items())}

    def reset(self) -> None:
        self._replies.clear()
        self._faults.clear()
        self._knobs.clear()
        self._log.clear()
        self._studio.clear()
        self.stenographer.clear()

    def known_models(self) -> list[str]:
        names = [*self._models, *(e.model for e in self._replies.items() if e.model)]
        names += self._knobs.models()
        names += [r["model"] for r in self._log if isinstance(r.get("model"), str)]
        return list(dict.fromkeys(names))

    # ----- protocol endpoints ---------------------------------------------------------------

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, OPENAI, self._serve)

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, ANTHROPIC, self._serve)

    async def _images(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, OPENAI, self._serve_images)

    async def _transcriptions(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, OPENAI, self._serve_transcription)

    async def _list_models(self, request: web.Request) -> web.Response:
        anthropic = "anthropic-version" in request.headers or "x-api-key" in request.headers
        dialect = ANTHROPIC if anthropic else OPENAI
        if (denied := self._check_key(dialect, request)) is not None:
            return web.json_response(dialect.error_body(401, denied), status=401)
        names = self.known_models()
        if anthropic:
            data: list[dict[str, Any]] = [
                {"type": "model", "id": n, "display_name": n, "created_at": _EPOCH} for n in names
            ]
            first, last = (names[0], names[-1]) if names else (None, None)
            body = {"data": data, "has_more": False, "first_id": first, "last_id": last}
            return web.json_response(body)
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "sandbox"} for n in names]
        return web.json_response({"object": "list", "data": data})

    async def _handle(
        self, request: web.Request, dialect: Dialect, serve: _Serve
    ) -> web.StreamResponse:
        """Log the request, serve it, and record how it ended."""
        record: dict[str, Any] = {
            "protocol": dialect.name,
            "path": request.path,
            "model": None,
            "body": None,
            "received_at": time.time(),
            # time.monotonic() stamps (the Telegram sandbox's clock) for latency benchmarks
            "received_mono": time.monotonic(),
            "first_content_at": None,
            # when each content delta had been written (time.monotonic(), the first
            # CHUNK_TIMES_LIMIT of them): how old the text is that a client shows
            "chunk_times": [],
            "finished_at": None,
            "status": 0,
            "had_api_key": dialect.api_key(request.headers) is not None,
            "outcome": "pending",
        }
        self._log.append(record)
        try:
            response = await serve(request, dialect, record)
        except _Dropped as exc:
            record["outcome"] = exc.outcome
            _abort(request)
            return web.Response(status=499)  # never reaches the (gone) client
        except asyncio.CancelledError:  # aiohttp with handler_cancellation=True
            record["outcome"] = "client_closed"
            raise
        record["status"] = response.status
        return response

    async def _serve(
        self, request: web.Request, dialect: Dialect, record: dict[str, Any]
    ) -> web.StreamResponse:
        admitted = await self._admit(request, dialect, record, dialect.parse)
        if isinstance(admitted, web.Response):
            return admitted
        parsed, fault = admitted
        knobs = self._knobs.resolve(parsed.model)
        body = record["body"] if isinstance(record["body"], Mapping) else {}
        entry = None
        if self._demo is None or not self._demo.structured(body):  # the judge is the demo's
            entry = self._replies.take(lambda e: e.matches(parsed.model, parsed.last_user_text))
        if entry is None and self._demo is not None:
            entry = await asyncio.to_thread(self._demo.reply, body, parsed.model)
        plan = build_plan(entry, parsed, knobs)
        seq = next(self._ids)
        if parsed.stream:
            return await self._stream(request, dialect, parsed, plan, knobs, fault, seq, record)
        await self._pause(knobs.ttft_ms)
        if fault is not None:  # a disconnect: no answer at all
            raise _Dropped("disconnect")
        return _answer(dialect, record, seq, dialect.completion(plan, seq, int(time.time())))

    async def _serve_images(
        self, request: web.Request, dialect: Dialect, record: dict[str, Any]
    ) -> web.StreamResponse:
        admitted = await self._admit(request, dialect, record, parse_image_request)
        if isinstance(admitted, web.Response):
            return admitted
        parsed, fault = admitted
        await self._pause(self._knobs.resolve(parsed.model).ttft_ms)
        if fault is not None:  # a disconnect: no answer at all
            raise _Dropped("disconnect")
        body = await self._studio.respond(parsed, str(request.url.origin()), int(time.time()))
        return _answer(dialect, record, next(self._ids), body)

    async def _serve_transcription(
        self, request: web.Request, dialect: Dialect, record: dict[str, Any]
    ) -> web.StreamResponse:
        """Speech to text (see `bot.sandbox.llm.audio`); faults apply as to other requests."""
        if (denied := self._check_key(dialect, request)) is not None:
            return self._error(dialect, record, 401, denied)
        try:
            parsed = await parse_transcription(request)
        except ProtocolError as exc:
            return self._error(dialect, record, exc.status, exc.message)
        record["model"] = parsed.model
        record["body"] = {
            "model": parsed.model,
            "file_name": parsed.file_name,
            "file_bytes": len(parsed.data),
            "language": parsed.language,
            "response_format": parsed.response_format,
        }
        fault = self._faults.take(lambda f: f.matches(parsed.model, dialect.name))
        if fault is not None and fault.kind == "status":
            message = fault.message or f"Sandbox fault: HTTP {fault.status}."
            return self._error(dialect, record, fault.status, message, fault.retry_after)
        if fault is not None and fault.kind == "hang":
            await self._hang(request)
        await self._pause(self._knobs.resolve(parsed.model).ttft_ms)
        if fault is not None:  # a disconnect: no answer at all
            raise _Dropped("disconnect")
        try:
            body, content_type = self.stenographer.respond(parsed)
        except ProtocolError as exc:
            return self._error(dialect, record, exc.status, exc.message)
        if content_type == "application/json":
            return _answer(dialect, record, next(self._ids), body)
        record["outcome"] = "ok"
        return web.Response(text=str(body), content_type=content_type)

    async def _admit(
        self,
        request: web.Request,
        dialect: Dialect,
        record: dict[str, Any],
        parse: Callable[[object], _P],
    ) -> tuple[_P, Fault | None] | web.Response:
        """Read, log, authorize and parse a request, then apply the next matching fault.

        Returns the error response to send instead, if any; a hang never returns.
        """
        body = await _read_json(request)
        record["body"] = None if body is _INVALID else body
        if isinstance(body, Mapping) and isinstance(body.get("model"), str):
            record["model"] = body["model"]
        if (denied := self._check_key(dialect, request)) is not None:
            return self._error(dialect, record, 401, denied)
        if body is _INVALID:
            return self._error(dialect, record, 400, "The request body is not valid JSON.")
        try:
            parsed = parse(body)
        except ProtocolError as exc:
            return self._error(dialect, record, exc.status, exc.message)
        record["model"] = parsed.model
        fault = self._faults.take(lambda f: f.matches(parsed.model, dialect.name))
        if fault is not None and fault.kind == "status":
            message = fault.message or f"Sandbox fault: HTTP {fault.status}."
            return self._error(dialect, record, fault.status, message, fault.retry_after)
        if fault is not None and fault.hangs_before_reply(parsed.stream):
            await self._hang(request)
        return parsed, fault

    def _check_key(self, dialect: Dialect, request: web.Request) -> str | None:
        key = dialect.api_key(request.headers)
        if key is None:
            return "Missing API key."
        if self._api_key is not None and key != self._api_key:
            return "Incorrect API key provided."
        return None

    def _error(
        self,
        dialect: Dialect,
        record: dict[str, Any],
        status: int,
        message: str,
        retry_after: float | None = None,
    ) -> web.Response:
        record["outcome"] = "error"
        headers = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
        body = dialect.error_body(status, message)
        return web.json_response(body, status=status, headers=headers)

    async def _stream(
        self,
        request: web.Request,
        dialect: Dialect,
        parsed: ParsedRequest,
        plan: Plan,
        knobs: Knobs,
        fault: Fault | None,
        seq: int,
        record: dict[str, Any],
    ) -> web.StreamResponse:
        script = dialect.stream(plan, parsed, seq, int(time.time()))
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                dialect.request_id_header: f"req_sandbox{seq:06d}",
            }
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        record["status"] = 200
        trigger = _fault_index(script.body, fault)
        try:
            for event in script.head:
                await response.write(event.encode())
            await self._pause(knobs.ttft_ms)
            deltas = 0
            first_delta = 0.0
            for index, event in enumerate(script.body):
                if index == trigger and fault is not None:
                    await self._trip(request, fault)
                if event.delta:
                    if deltas:
                        # on a schedule from the first chunk: the stream keeps its rate
                        # (token_delay_ms per chunk on average) however busy this process is
                        due = first_delta + deltas * knobs.token_delay_ms / 1000
                        await self._pause(max(0.0, due - time.monotonic()) * 1000)
                    else:
                        first_delta = time.monotonic()
                    deltas += 1
                await response.write(event.encode())
                if event.delta:
                    written = time.monotonic()
                    if record["first_content_at"] is None:
                        record["first_content_at"] = written
                    if len(record["chunk_times"]) < CHUNK_TIMES_LIMIT:
                        record["chunk_times"].append(written)
            await response.write_eof()
            record["finished_at"] = time.monotonic()
        except ConnectionError:
            record["outcome"] = "client_closed"
            return response
        except _Dropped as exc:
            record["outcome"] = exc.outcome
            _abort(request)
            return response
        record["outcome"] = "ok"
        return response

    async def _trip(self, request: web.Request, fault: Fault) -> NoReturn:
        if fault.kind == "disconnect":
            raise _Dropped("disconnect")
        await self._hang(request)

    async def _pause(self, milliseconds: float) -> None:
        """Sleep, unless the server stops first (then the connection is dropped).

        A plain timer on a future that :meth:`stop` also wakes: a token stream pauses once per
        chunk, and thousands of streamed chunks a second must not cost a task each.
        """
        if self._stopping.is_set():
            raise _Dropped("server_stopped")
        if milliseconds <= 0:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(milliseconds / 1000, _wake, waiter)
        self._sleepers.add(waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._sleepers.discard(waiter)
        if self._stopping.is_set():
            raise _Dropped("server_stopped")

    def _wake_sleepers(self) -> None:
        for waiter in list(self._sleepers):
            _wake(waiter)

    async def stop(self) -> None:
        self._stopping.set()
        self._wake_sleepers()
        await super().stop()

    async def _on_shutdown(self, app: web.Application) -> None:
        await super()._on_shutdown(app)
        self._wake_sleepers()

    async def _hang(self, request: web.Request) -> NoReturn:
        """Never answer: return (by raising) when the client leaves or the server stops."""
        while True:
            transport = request.transport
            if transport is None or transport.is_closing():
                raise _Dropped("client_closed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), _POLL_S)
                raise _Dropped("server_stopped")


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _fault_index(body: tuple[Any, ...], fault: Fault | None) -> int | None:
    """Where a mid-stream fault fires: before delta number ``after_chunks`` (or the last event)."""
    if fault is None or fault.kind == "status":
        return None
    wanted = fault.after_chunks or 0
    positions = [i for i, event in enumerate(body) if event.delta]
    return positions[wanted] if wanted < len(positions) else len(body) - 1


def _answer(
    dialect: Dialect, record: dict[str, Any], seq: int, body: Mapping[str, Any]
) -> web.Response:
    record["outcome"] = "ok"
    record["first_content_at"] = record["finished_at"] = time.monotonic()
    record["chunk_times"] = [record["first_content_at"]]  # the whole answer at once
    return web.json_response(body, headers={dialect.request_id_header: f"req_sandbox{seq:06d}"})


def _abort(request: web.Request) -> None:
    """Close the connection at once (no response, or a truncated chunked body)."""
    transport = request.transport
    if transport is not None:
        transport.abort()


async def _read_json(request: web.Request) -> object:
    try:
        return json.loads(await request.read())
    except ValueError:
        return _INVALID


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


__all__ = ["ANTHROPIC", "OPENAI", "ScriptError", "ScriptedLLM"]
