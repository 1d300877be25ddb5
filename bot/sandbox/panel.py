"""The chat page's controls panel: the bot's start-up status and the demo model's knobs.

Served by the fake Telegram server next to the page (``/sandbox/panel``), so a newcomer
changes the model's speed, injects an error or scripts the next answer from the page instead
of calling the scripted LLM's control API on a random port::

    GET  /sandbox/panel                 {"status", "ready", "admins", "speed", "speeds", "pending"}
    POST /sandbox/panel/speed           {"speed": "realistic"}   # fast | realistic | slow
    POST /sandbox/panel/fault           {"kind": "error"}        # error | overloaded | disconnect
    POST /sandbox/panel/script          {"text": "The next answer, word for word."}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.llm import ScriptedLLM

# ttft_ms, token_delay_ms, chunk_chars (4 characters ~ one token)
SPEEDS: dict[str, dict[str, float | int]] = {
    "fast": {"ttft_ms": 0, "token_delay_ms": 0, "chunk_chars": 0},
    "realistic": {"ttft_ms": 400, "token_delay_ms": 25, "chunk_chars": 4},  # 40 tokens/s
    "slow": {"ttft_ms": 1500, "token_delay_ms": 100, "chunk_chars": 4},  # 10 tokens/s
}
DEFAULT_SPEED = "realistic"
# kind -> the fault of the scripted LLM (what a real provider does in that case); "times" of
# the status faults is set to outlast the bot's retries (llm.max_retries), so the user sees it
FAULTS: dict[str, dict[str, Any]] = {
    "error": {"kind": "status", "status": 500, "message": "Sandbox: injected server error."},
    "overloaded": {"kind": "status", "status": 429, "retry_after": 1},
    "disconnect": {"kind": "disconnect", "after_chunks": 8},
}


@dataclass
class Panel:
    llm: ScriptedLLM
    admins: tuple[int, ...] = ()
    status: str = "starting"
    ready: bool = False  # the bot is up and its message classifier loaded
    bot_up: bool = False
    classifier_ready: bool = False
    speed: str = DEFAULT_SPEED
    retries: int = 2  # the bot's llm.max_retries (the runner sets it)
    notes: list[str] = field(default_factory=list)

    def set_speed(self, speed: str) -> None:
        if speed not in SPEEDS:
            raise web.HTTPBadRequest(text=f"speed must be one of {', '.join(SPEEDS)}")
        self.llm.apply_knobs(SPEEDS[speed])
        self.speed = speed

    def snapshot(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "ready": self.ready,
            "admins": list(self.admins),
            "speed": self.speed,
            "speeds": list(SPEEDS),
            "faults": list(FAULTS),
            "pending": self.llm.pending(),
        }


PANEL_KEY = web.AppKey("sandbox_panel", Panel)


class StatusLog(logging.Handler):
    """Shows the bot's start-up log lines (INFO and up) as the panel's status."""

    def __init__(self, panel: Panel) -> None:
        super().__init__(logging.INFO)
        self._panel = panel

    def emit(self, record: logging.LogRecord) -> None:
        names = ("bot.routing", "bot.storage", "bot.bootstrap", "bot.moderation")
        if record.name.startswith(names) and not self._panel.ready:
            self._panel.status = record.getMessage()
            if "routing: ready" in self._panel.status:
                self._panel.classifier_ready = True
                self._panel.ready = self._panel.bot_up


async def _body(request: web.Request) -> Mapping[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="the body must be a JSON object") from None
    if not isinstance(body, Mapping):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


async def get_panel(request: web.Request) -> web.Response:
    return web.json_response(request.app[PANEL_KEY].snapshot())


async def post_speed(request: web.Request) -> web.Response:
    panel = request.app[PANEL_KEY]
    panel.set_speed(str((await _body(request)).get("speed")))
    return web.json_response(panel.snapshot())


async def post_fault(request: web.Request) -> web.Response:
    panel = request.app[PANEL_KEY]
    kind = str((await _body(request)).get("kind"))
    if kind not in FAULTS:
        raise web.HTTPBadRequest(text=f"kind must be one of {', '.join(FAULTS)}")
    fault = dict(FAULTS[kind])
    if fault["kind"] == "status":
        fault["times"] = panel.retries + 1
    panel.llm.add_fault(fault.pop("kind"), **fault)
    return web.json_response(panel.snapshot())


async def post_script(request: web.Request) -> web.Response:
    panel = request.app[PANEL_KEY]
    text = (await _body(request)).get("text")
    if not isinstance(text, str) or not text.strip():
        raise web.HTTPBadRequest(text="text must be a non-empty string")
    panel.llm.script(text)
    return web.json_response(panel.snapshot())


def add_panel(app: web.Application, panel: Panel) -> None:
    """Add the panel's routes to the fake Telegram server's app (before it starts)."""
    app[PANEL_KEY] = panel
    app.router.add_get("/sandbox/panel", get_panel)
    app.router.add_post("/sandbox/panel/speed", post_speed)
    app.router.add_post("/sandbox/panel/fault", post_fault)
    app.router.add_post("/sandbox/panel/script", post_script)
