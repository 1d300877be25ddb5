"""The control API (``/control/...``): server routes and an async HTTP client for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiohttp
from aiohttp import web

from bot.sandbox.llm.script import KNOB_KEYS, ScriptError

if TYPE_CHECKING:
    from bot.sandbox.llm.server import ScriptedLLM

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra})


async def _json_object(request: web.Request) -> Mapping[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ScriptError("the body must be JSON") from exc
    if not isinstance(body, Mapping):
        raise ScriptError("the body must be a JSON object")
    return body


def _guarded(handler: _Handler) -> _Handler:
    """Turn a :class:`ScriptError` into a 400 ``{"error": message}``."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ScriptError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return wrapper


def control_routes(llm: ScriptedLLM) -> list[web.RouteDef]:
    """Routes of the control API, bound to one server instance."""

    async def script(request: web.Request) -> web.Response:
        before = llm.pending()["replies"]
        llm.script(**await _json_object(request))
        return _ok(queued=llm.pending()["replies"] - before)

    async def knobs(request: web.Request) -> web.Response:
        body = dict(await _json_object(request))
        model = body.pop("model", None)
        if model is not None and not isinstance(model, str):
            raise ScriptError("'model' must be a string")
        llm.apply_knobs(body, model=model)
        return _ok()

    async def faults(request: web.Request) -> web.Response:
        body = await _json_object(request)
        entries = body.get("faults", [body])
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise ScriptError("'faults' must be a list of fault objects")
        for entry in entries:
            llm.add_fault(**entry)
        return _ok(queued=len(entries))

    async def get_requests(_request: web.Request) -> web.Response:
        return web.json_response(llm.requests)

    async def clear_requests(_request: web.Request) -> web.Response:
        llm.clear_requests()
        return _ok()

    async def pending(_request: web.Request) -> web.Response:
        return web.json_response(llm.pending())

    async def reset(_request: web.Request) -> web.Response:
        llm.reset()
        return _ok()

    return [
        web.post("/control/script", _guarded(script)),
        web.post("/control/knobs", _guarded(knobs)),
        web.post("/control/faults", _guarded(faults)),
        web.get("/control/requests", get_requests),
        web.delete("/control/requests", clear_requests),
        web.get("/control/pending", pending),
        web.post("/control/reset", reset),
    ]


class LLMControl:
    """Drive a :class:`ScriptedLLM` in another process through its control API."""

    def __init__(self, base_url: str, *, session: aiohttp.ClientSession | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def _call(self, method: str, path: str, body: object = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        url = f"{self._base}/control/{path}"
        async with self._session.request(method, url, json=body) as response:
            if response.status == 400:
                payload = await response.json()
                raise ScriptError(payload.get("error", "rejected by the sandbox LLM server"))
            response.raise_for_status()
            return await response.json()

    async def script(self, text: str | None = None, **fields: Any) -> None:
        await self._call("POST", "script", fields if text is None else {"text": text, **fields})

    async def set_knobs(
        self,
        *,
        ttft_ms: float | None = None,
        token_delay_ms: float | None = None,
        chunk_chars: int | None = None,
        model: str | None = None,
    ) -> None:
        """Same semantics as :meth:`ScriptedLLM.set_knobs` (None = unchanged)."""
        values = dict(zip(KNOB_KEYS, (ttft_ms, token_delay_ms, chunk_chars), strict=True))
        body: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        if model is not None:
            body["model"] = model
        await self._call("POST", "knobs", body)

    async def add_fault(self, kind: str, **fields: Any) -> None:
        await self._call("POST", "faults", {"kind": kind, **fields})

    async def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("GET", "requests")
        return result

    async def clear_requests(self) -> None:
        await self._call("DELETE", "requests")

    async def pending(self) -> dict[str, int]:
        result: dict[str, int] = await self._call("GET", "pending")
        return result

    async def reset(self) -> None:
        await self._call("POST", "reset")
