"""What the sandbox servers' control APIs (``/control/...``) share: JSON helpers for the
routes, and the base of their async HTTP clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar, Self

import aiohttp
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra})


async def json_object(request: web.Request, error: type[Exception]) -> Mapping[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise error("the body must be JSON") from exc
    if not isinstance(body, Mapping):
        raise error("the body must be a JSON object")
    return body


def guarded(handler: Handler, error: type[Exception]) -> Handler:
    """Turn `error` into a 400 ``{"error": message}``."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except error as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return wrapper


class ControlClient:
    """Drive a sandbox server in another process through its control API; a 400 is raised
    as `error`."""

    error: ClassVar[type[Exception]] = ValueError
    rejected: ClassVar[str] = "rejected by the sandbox server"

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
                raise self.error(payload.get("error", self.rejected))
            response.raise_for_status()
            return await response.json()
