"""Per-update context, outermost first: ordering -> FSM state -> dedupe -> context (user, chat,
locale)."""

from aiogram import Dispatcher

from bot.middlewares.context import ContextMiddleware
from bot.middlewares.dedupe import DedupeMiddleware
from bot.middlewares.ordering import OrderingMiddleware


def install_ordering(dispatcher: Dispatcher, ordering: OrderingMiddleware) -> None:
    """Ordering first, then aiogram's FSM middleware (the dispatcher must be made with
    `disable_fsm=True`, which only leaves it unregistered): reading the state awaits the
    storage (Redis), so ahead of the chat's lock it would let updates overtake each other,
    and under the lock each update sees the state the one before it left."""
    if dispatcher.fsm in dispatcher.update.outer_middleware:
        raise ValueError("make the Dispatcher with disable_fsm=True; its FSM goes after ordering")
    dispatcher.update.outer_middleware(ordering)
    dispatcher.update.outer_middleware(dispatcher.fsm)


def install_middlewares(
    dispatcher: Dispatcher,
    ordering: OrderingMiddleware,
    dedupe: DedupeMiddleware,
    context: ContextMiddleware,
) -> None:
    """Order matters: ordering must run before anything awaits, so it is registered first."""
    install_ordering(dispatcher, ordering)
    dispatcher.update.outer_middleware(dedupe)
    dispatcher.update.outer_middleware(context)


__all__ = [
    "ContextMiddleware",
    "DedupeMiddleware",
    "OrderingMiddleware",
    "install_middlewares",
    "install_ordering",
]
