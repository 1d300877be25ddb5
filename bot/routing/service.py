"""Routing for a chat's turn: the decision, the route's instructions and, on `auto`, the model."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.config import AUTO_MODEL
from bot.llm.base import ChatModel
from bot.llm.registry import ModelRegistry
from bot.llm.spec import ModelSpec
from bot.routing.router import Decision, Router, Stage
from bot.routing.routes import RouteBook
from bot.storage.dto import Chat

MAX_REMEMBERED_CHATS = 50_000


@dataclass(frozen=True, slots=True)
class TurnPlan:
    model: ChatModel
    decision: Decision | None  # None when routing is off (for the bot or for this chat)
    instructions: str | None  # the route's, appended to the system prompt
    auto: bool  # the model was chosen by the route
    text: str  # the message as the model gets it (an explicit #route tag removed)
    tools: frozenset[str] | None = None  # the route's tools; None: no restriction
    deny_tools: frozenset[str] = frozenset()  # tools the route never offers


def unknown_references(
    book: RouteBook, overrides: Mapping[str, Sequence[str]], model_ids: Collection[str]
) -> tuple[list[str], dict[str, list[str]]]:
    """Routes named in the configuration's preferred_models that do not exist, and per route
    the preferred model ids (the configuration's, else the route file's) not configured."""
    missing_routes = [route for route in overrides if route not in book]
    missing_models: dict[str, list[str]] = {}
    for route in book.routes.values():
        preferred = overrides.get(route.id, route.preferred_models)
        unknown = [m for m in preferred if m not in model_ids]
        if unknown:
            missing_models[route.id] = unknown
    return missing_routes, missing_models


def reference_problems(
    book: RouteBook, overrides: Mapping[str, Sequence[str]], model_ids: Collection[str]
) -> list[str]:
    """What `check-config` and the start report about those, one line each."""
    routes, models = unknown_references(book, overrides, model_ids)
    lines = [
        f"routing.preferred_models.{route}: there is no route {route!r} "
        f"(routes: {', '.join(book.ids)}); fix the name"
        for route in routes
    ]
    lines += [
        f"route {route} prefers models this configuration does not define "
        f"({', '.join(unknown)}); Auto skips them. Set routing.preferred_models.{route}"
        for route, unknown in models.items()
    ]
    return lines


def has_capabilities(spec: ModelSpec, needs: Iterable[str]) -> bool:
    return all(getattr(spec.capabilities, need, False) for need in needs)


class RoutingService:
    def __init__(
        self,
        models: ModelRegistry,
        *,
        default_model: str,
        fallback_model: str,
        preferred_overrides: Mapping[str, Sequence[str]],
        followup_window_seconds: float,
    ) -> None:
        self._models = models
        self._default_model = default_model
        self._fallback = fallback_model
        self._overrides = {k: tuple(v) for k, v in preferred_overrides.items()}
        self._window = followup_window_seconds
        self._router: Router | None = None
        self._loading: asyncio.Task[Router] | None = None
        # (chat, member in groups) -> the last route and when it was decided
        self._previous: OrderedDict[tuple[int, int | None], tuple[str, float]] = OrderedDict()

    @property
    def router(self) -> Router | None:
        return self._router

    def install(self, router: Router) -> None:
        """Called once the classifier is trained; until then turns are not routed."""
        self._router = router

    def install_later(self, loading: asyncio.Task[Router]) -> None:
        """The router is loading in the background: turns wait for it (queued, not dropped);
        if it fails, they go unrouted."""
        self._loading = loading

    async def _ready_router(self) -> Router | None:
        loading = self._loading
        if loading is not None and self._router is None:
            try:
                self.install(await asyncio.shield(loading))
            except Exception:  # logged by whoever started the loading
                self._loading = None
        return self._router

    def is_auto(self, chat: Chat) -> bool:
        model = chat.model if chat.model in self._models or chat.model == AUTO_MODEL else None
        return (model or self._default_model) == AUTO_MODEL

    def fixed_model(self, chat: Chat) -> ChatModel:
        """The model of a chat that is not on `auto` (and the fallback of one that is)."""
        if self.is_auto(chat):
            return self._models.get(self._fallback)
        default = self._fallback if self._default_model == AUTO_MODEL else self._default_model
        return self._models.resolve(chat.model, default)

    async def plan(
        self,
        chat: Chat,
        text: str,
        needs: frozenset[str] = frozenset(),
        *,
        user_id: int | None = None,
        route: str | None = None,
    ) -> TurnPlan:
        """`route`: a route already decided for this message (a /retry keeps it)."""
        auto = self.is_auto(chat)
        router = await self._ready_router() if chat.routing_enabled else None
        if router is None or not chat.routing_enabled:
            model = self.choose_model(None, needs) if auto else self.fixed_model(chat)
            return TurnPlan(model, None, None, auto, text)
        if route is not None and route in router.book:
            decision = Decision(route, Stage.RULE, 1.0, needs=needs, text=text)
        else:
            # In groups each member has their own thread of follow-ups.
            key = (chat.id, None if chat.is_private else user_id)
            decision = await router.decide(text, previous=self._recent(key), needs=needs)
            self._remember(key, decision.route)
        model = self.choose_model(decision.route, needs) if auto else self.fixed_model(chat)
        chosen = router.book[decision.route]
        return TurnPlan(
            model,
            decision,
            chosen.instructions,
            auto,
            decision.text or text,
            chosen.tools,
            chosen.deny_tools,
        )

    def model(self, model_id: str) -> ChatModel | None:
        return self._models.get(model_id) if model_id in self._models else None

    def model_for(self, chat: Chat, route: str | None, needs: frozenset[str]) -> ChatModel:
        """The model a message of this chat on `route` gets (what /route reports)."""
        if not self.is_auto(chat):
            return self.fixed_model(chat)
        return self.choose_model(route if chat.routing_enabled else None, needs)

    def preferred(self, route_id: str) -> tuple[str, ...]:
        if route_id in self._overrides:
            return self._overrides[route_id]
        router = self._router
        if router is None or route_id not in router.book:
            return ()
        return router.book[route_id].preferred_models

    def choose_model(self, route_id: str | None, needs: frozenset[str]) -> ChatModel:
        """The route's first preferred model that can serve the message, else the fallback,
        else any configured model that can, else the fallback anyway (which then explains)."""
        router = self._router
        required = set(needs)
        if route_id is not None and router is not None and route_id in router.book:
            required |= router.book[route_id].requires
        for model_id in self.preferred(route_id) if route_id else ():
            if model_id in self._models:
                model = self._models.get(model_id)
                if has_capabilities(model.spec, required):
                    return model
        fallback = self._models.get(self._fallback)
        if has_capabilities(fallback.spec, required):
            return fallback
        for model in self._models:
            if has_capabilities(model.spec, required):
                return model
        return fallback

    def models_with(self, needs: Iterable[str]) -> list[ModelSpec]:
        wanted = set(needs)
        return [m.spec for m in self._models if has_capabilities(m.spec, wanted)]

    def unknown_preferred_models(self) -> dict[str, list[str]]:
        """Route -> preferred model ids that this deployment does not configure."""
        router = self._router
        if router is None:
            return {}
        configured = [spec.id for spec in self._models.specs()]
        return unknown_references(router.book, self._overrides, configured)[1]

    def _recent(self, key: tuple[int, int | None]) -> str | None:
        entry = self._previous.get(key)
        if entry is None or time.monotonic() - entry[1] > self._window:
            return None
        return entry[0]

    def _remember(self, key: tuple[int, int | None], route: str) -> None:
        self._previous[key] = (route, time.monotonic())
        self._previous.move_to_end(key)
        while len(self._previous) > MAX_REMEMBERED_CHATS:
            self._previous.popitem(last=False)
