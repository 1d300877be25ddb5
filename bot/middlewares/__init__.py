"""Per-update context, outermost first: ordering -> dedupe -> context (user, chat, locale)."""

from aiogram import Dispatcher

from bot.middlewares.context import ContextMiddleware
from bot.middlewares.dedupe import DedupeMiddleware
from bot.middlewares.ordering import OrderingMiddleware


def install_middlewares(
    dispatcher: Dispatcher,
    ordering: OrderingMiddleware,
    dedupe: DedupeMiddleware,
    context: ContextMiddleware,
) -> None:
    """Order matters: ordering must run before anything awaits, so it is registered first."""
    dispatcher.update.outer_middleware(ordering)
    dispatcher.update.outer_middleware(dedupe)
    dispatcher.update.outer_middleware(context)


__all__ = ["ContextMiddleware", "DedupeMiddleware", "OrderingMiddleware", "install_middlewares"]
