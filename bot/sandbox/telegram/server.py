"""The fake Telegram Bot API server: aiohttp app, routing, start and stop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from . import validation
from .control import CORE_KEY, PAGE_KEY, add_routes, control_errors, load_page
from .core import Core
from .delivery import UpdateIds
from .errors import ApiError
from .params import read_request

logger = logging.getLogger(__name__)

UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}
NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}
MAX_UPLOAD = 64 * 1024 * 1024


class TelegramSandbox:
    """A fake Telegram Bot API server that plays the users of a bot.

    The bot talks to it unchanged through
    ``AiohttpSession(api=TelegramAPIServer.from_base(base_url))``; tests, benchmarks and
    people drive the users through the ``/sandbox/`` control API or the page at ``/``.
    """

    def __init__(
        self,
        token: str,
        *,
        bot_username: str = "sandbox_bot",
        bot_id: int = 7000000001,
        enforce_limits: bool = False,
        data_dir: Path | None = None,
    ) -> None:
        """`data_dir`: where the update ids are kept across restarts (as Telegram does)."""
        ids = UpdateIds(data_dir / "telegram-update-id") if data_dir is not None else None
        self.core = Core(token, bot_username, bot_id, enforce_limits, ids)
        self._app = self._build_app()
        self._runner: web.AppRunner | None = None
        self._warming: asyncio.Task[None] | None = None
        self.base_url: str | None = None

    @property
    def app(self) -> web.Application:
        return self._app

    @property
    def token(self) -> str:
        return self.core.token

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD, middlewares=[control_errors])
        app[CORE_KEY] = self.core
        app[PAGE_KEY] = load_page()
        app.router.add_route("*", r"/bot{token:[^/]+}/{method:[^/]+}", self._api)
        app.router.add_route("GET", r"/file/bot{token:[^/]+}/{path:.+}", self._file)
        add_routes(app)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        await self.core.close()

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.core.token:
            return web.json_response(UNAUTHORIZED, status=401)
        try:
            raw: dict[str, Any] = await read_request(request)
        except ApiError as exc:
            return web.json_response(exc.body(), status=exc.status)
        status, body = await self.core.execute(request.match_info["method"], raw)
        return web.json_response(body, status=status)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.core.token:
            return web.json_response(UNAUTHORIZED, status=401)
        stored = self.core.world.paths.get(request.match_info["path"])
        if stored is None:
            return web.json_response(NOT_FOUND, status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = any free port); returns the base URL."""
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0]
        self.base_url = f"http://{host}:{bound[1]}"
        logger.info("Telegram sandbox listening on %s", self.base_url)
        if self._warming is None:
            self._warming = asyncio.create_task(asyncio.to_thread(validation.warm_up))
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; pending long polls return at once and webhook retries are cancelled."""
        if self._warming is not None:
            await self._warming  # a thread cannot be cancelled: let it finish
        await self.core.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
