"""The fake web's control API (``/control/...``): server routes and an async HTTP client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.control_api import ControlClient, guarded, json_object, ok
from bot.sandbox.web.script import FakeWebError

if TYPE_CHECKING:
    from bot.sandbox.web.server import FakeWeb


def control_routes(fake: FakeWeb) -> list[web.RouteDef]:
    """Routes of the control API, bound to one fake web."""

    async def search(request: web.Request) -> web.Response:
        body = await json_object(request, FakeWebError)
        results: Any = body.get("results")  # checked by script_search
        fake.script_search(body.get("match"), results)
        return ok()

    async def search_json(request: web.Request) -> web.Response:
        enabled = (await json_object(request, FakeWebError)).get("enabled")
        if not isinstance(enabled, bool):
            raise FakeWebError("'enabled' must be true or false")
        fake.enable_search_json(enabled)
        return ok()

    async def pages(request: web.Request) -> web.Response:
        body = await json_object(request, FakeWebError)
        slug, html = body.get("slug", ""), body.get("html", "")  # checked by add_page
        fake.add_page(slug, html, body.get("content_type", "text/html"))
        return ok()

    async def get_requests(_request: web.Request) -> web.Response:
        return web.json_response(fake.requests)

    async def clear_requests(_request: web.Request) -> web.Response:
        fake.clear_requests()
        return ok()

    async def reset(_request: web.Request) -> web.Response:
        fake.reset()
        return ok()

    return [
        web.post("/control/search", guarded(search, FakeWebError)),
        web.post("/control/search/json", guarded(search_json, FakeWebError)),
        web.post("/control/pages", guarded(pages, FakeWebError)),
        web.get("/control/requests", get_requests),
        web.delete("/control/requests", clear_requests),
        web.post("/control/reset", reset),
    ]


class FakeWebControl(ControlClient):
    """Drive a :class:`FakeWeb` in another process through its control API."""

    error = FakeWebError
    rejected = "rejected by the fake web"

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
