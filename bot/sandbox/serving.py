"""What the sandbox's fake servers share: an aiohttp app served on a (loopback) port."""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

from aiohttp import web

log = logging.getLogger(__name__)


class LoopbackServer:
    """Start and stop an aiohttp app; `_stopping` is set when it stops, so that slow and
    hung answers can end at once."""

    label: ClassVar[str] = "sandbox server"

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        app.on_shutdown.append(self._on_shutdown)

    @property
    def app(self) -> web.Application:
        return self._app

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._base_url is None:
            raise RuntimeError(f"the {self.label} is not running")
        return self._base_url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = any free port); return the base URL."""
        if self._runner is not None:
            raise RuntimeError(f"the {self.label} is already running")
        self._stopping = asyncio.Event()  # bound to this (possibly new) event loop
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self._base_url = f"http://{bound_host}:{bound_port}"
        log.info("%s listening on %s", self.label, self._base_url)
        return self._base_url

    async def stop(self) -> None:
        """Stop serving; answers still pending are cut off."""
        self._stopping.set()
        runner, self._runner, self._base_url = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def _on_shutdown(self, _app: web.Application) -> None:
        self._stopping.set()
