"""aiogram routers, one module per feature. Router order is behaviour: commands before the
catch-all chat handler, which must stay last."""

from aiogram import Router

from bot.handlers import chat, conversation, models, start


def get_routers() -> list[Router]:
    return [start.router, conversation.router, models.router, chat.router]
