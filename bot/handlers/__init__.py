"""aiogram routers, one module per feature. Router order is behaviour: commands before the
catch-all chat handler, which must stay last."""

from aiogram import Router

from bot.handlers import (
    broadcasts,
    character_admin,
    characters,
    chat,
    control,
    conversation,
    feedback,
    files,
    groups,
    history,
    language,
    limits,
    models,
    moderation,
    operators,
    payments,
    payments_admin,
    privacy,
    settings,
    start,
    stats,
    system_prompt,
    tools,
    unknown,
    voice,
)


def get_routers() -> list[Router]:
    return [
        start.router,
        # Early: payment messages and pre-checkout queries must not reach other handlers.
        payments.router,
        limits.router,
        control.router,
        conversation.router,
        # Before the chat router: takes the text that /setsystem waits for.
        system_prompt.router,
        # Before the chat router too: takes the message /broadcast waits for.
        broadcasts.router,
        models.router,
        characters.router,
        settings.router,
        tools.router,
        language.router,
        history.router,
        privacy.router,
        feedback.router,
        character_admin.router,  # before operators.router, which refuses non-admins
        payments_admin.router,
        moderation.router,  # before operators.router, which refuses non-admins
        stats.router,
        operators.router,
        # After every router with admin-only handlers: refuses what their filters let through.
        groups.router,
        # Just before the chat router; checks every registered Command, /retry included.
        unknown.router,
        voice.router,  # recordings become text turns
        files.router,
        chat.router,
    ]
