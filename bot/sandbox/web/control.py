"""The fake web's control API (``/control/...``): server routes and an async HTTP client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import aiohttp
from aiohttp import web

from bot.sandbox.web.script import FakeWebError

if TYPE_CHECKING:
    from bot.sandbox.web.server import FakeWeb

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra})


async def _json_object(request: web.Request) -> Mapping[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise FakeWebError("the body must be JSON") from exc
    if not isinstance(body, Mapping):
        raise FakeWebError("the body must be a JSON object")
    return body


def _guarded(handler: _Handler) -> _Handler:
    """Turn a :class:`FakeWebError` into a 400 ``{"error": message}``."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except FakeWebError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return wrapper


def control_routes(fake: FakeWeb) -> list[web.RouteDef]:
    """Routes of the control API, bound to one fake web."""

    async def search(request: web.Request) -> web.Response:
        body = await _json_object(request)
        results: Any = body.get("results")  # checked by script_search
        fake.script_search(body.get("match"), results)
        return _ok()

    async def search_json(request: web.Request) -> web.Response:
        enabled = (await _json_object(request)).get("enabled")
        if not isinstance(enabled, bool):
            raise FakeWebError("'enabled' must be true or false")
        fake.enable_search_json(enabled)
        return _ok()

    async def pages(request: web.Request) -> web.Response:
        body = await _json_object(request)
        slug, html = body.get("slug", ""), body.get("html", "")  # checked by add_page
        fake.add_page(slug, html, body.get("content_type", "text/html"))
        return _ok()

    async def get_requests(_request: web.Request) -> web.Response:
        return web.json_response(fake.requests)

    async def clear_requests(_request: web.Request) -> web.Response:
        fake.clear_requests()
        return _ok()

    async def reset(_request: web.Request) -> web.Response:
        fake.reset()
        return _ok()

    return [
        web.post("/control/search", _guarded(search)),
        web.post("/control/search/json", _guarded(search_json)),
        web.post("/control/pages", _guarded(pages)),
        web.get("/control/requests", get_requests),
        web.delete("/control/requests", clear_requests),
        web.post("/control/reset", reset),
    ]


class FakeWebControl:
    """Drive a :class:`FakeWeb` in another process through its control API."""

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
                raise FakeWebError(payload.get("error", "rejected by the fake web"))
            response.raise_for_status()
            return await response.json()

    async def script_search(self, match: str | None, results: list[dict[str, Any]]) -> None:
        """Same semantics as :meth:`FakeWeb.script_search`."""
        await self._call("POST", "search", {"match": match, "results": results})

    async def add_page(self, slug: str, html: str, content_type: str = "text/html") -> None:
        body = {"slug": slug, "html": html, "content_type": content_type}
        await self._call("POST", "pages", body)

    async def enable_search_json(self, enabled: bool = True) -> None:
        await self._call("POST", "search/json", {"enabled": enabled})

    async def requests(self) -> list[str]:
        result: list[str] = await self._call("GET", "requests")
        return result

    async def clear_requests(self) -> None:
        await self._call("DELETE", "requests")

    async def reset(self) -> None:
        await self._call("POST", "reset")
