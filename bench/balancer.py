"""A round-robin load balancer in front of webhook ingress replicas (Telegram calls one
address): used by the scale scenario and the scale-out tests."""

from __future__ import annotations

import itertools
from collections import Counter

import aiohttp
from aiohttp import web


class Balancer:
    """A round-robin load balancer in front of the webhook ingress replicas (Telegram calls
    one address): a replica that does not answer is skipped, none answering is a 502."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.backends: list[int] = []
        self.served: Counter[int] = Counter()
        self._next = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower().startswith(("x-", "content-type"))
        }
        first = next(self._next)
        for step in range(len(self.backends)):
            port = self.backends[(first + step) % len(self.backends)]
            url = f"http://127.0.0.1:{port}{request.path}"
            try:
                async with self._session.post(url, data=body, headers=headers) as reply:
                    self.served[port] += reply.status == 200
                    return web.Response(status=reply.status, body=await reply.read())
            except aiohttp.ClientError:
                continue
        return web.Response(status=502)
