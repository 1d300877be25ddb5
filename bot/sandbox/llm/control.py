"""The control API (``/control/...``): server routes and an async HTTP client for them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.control_api import ControlClient, guarded, json_object, ok
from bot.sandbox.llm.script import KNOB_KEYS, ScriptError

if TYPE_CHECKING:
    from bot.sandbox.llm.server import ScriptedLLM


def control_routes(llm: ScriptedLLM) -> list[web.RouteDef]:
    """Routes of the control API, bound to one server instance."""

    async def script(request: web.Request) -> web.Response:
        before = llm.pending()["replies"]
        llm.script(**await json_object(request, ScriptError))
        return ok(queued=llm.pending()["replies"] - before)

    async def knobs(request: web.Request) -> web.Response:
        body = dict(await json_object(request, ScriptError))
        model = body.pop("model", None)
        if model is not None and not isinstance(model, str):
            raise ScriptError("'model' must be a string")
        llm.apply_knobs(body, model=model)
        return ok()

    async def faults(request: web.Request) -> web.Response:
        body = await json_object(request, ScriptError)
        entries = body.get("faults", [body])
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise ScriptError("'faults' must be a list of fault objects")
        for entry in entries:
            llm.add_fault(**entry)
        return ok(queued=len(entries))

    async def transcripts(request: web.Request) -> web.Response:
        body = await json_object(request, ScriptError)
        entries = body.get("transcripts", [body])
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise ScriptError("'transcripts' must be a list of {text, language} objects")
        for entry in entries:
            unknown = set(entry) - {"text", "language"}
            text, language = entry.get("text"), entry.get("language")
            if unknown or not isinstance(text, str | None) or not isinstance(language, str | None):
                raise ScriptError('a transcript is {"text": str, "language": str}, both optional')
            try:
                llm.stenographer.script(text, language)
            except ValueError as exc:
                raise ScriptError(str(exc)) from None
        return ok(queued=len(entries))

    async def get_requests(_request: web.Request) -> web.Response:
        return web.json_response(llm.requests)

    async def clear_requests(_request: web.Request) -> web.Response:
        llm.clear_requests()
        return ok()

    async def pending(_request: web.Request) -> web.Response:
        return web.json_response(llm.pending())

    async def reset(_request: web.Request) -> web.Response:
        llm.reset()
        return ok()

    return [
        web.post("/control/script", guarded(script, ScriptError)),
        web.post("/control/knobs", guarded(knobs, ScriptError)),
        web.post("/control/faults", guarded(faults, ScriptError)),
        web.post("/control/transcripts", guarded(transcripts, ScriptError)),
        web.get("/control/requests", get_requests),
        web.delete("/control/requests", clear_requests),
        web.get("/control/pending", pending),
        web.post("/control/reset", reset),
    ]


class LLMControl(ControlClient):
    """Drive a :class:`ScriptedLLM` in another process through its control API."""

    error = ScriptError
    rejected = "rejected by the sandbox LLM server"

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

    async def transcript(self, text: str | None = None, language: str | None = None) -> None:
        """The next transcription's text and/or language (see `bot.sandbox.llm.audio`)."""
        await self._call("POST", "transcripts", {"text": text, "language": language})

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
