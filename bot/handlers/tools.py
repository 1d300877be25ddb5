"""/tools: whether models may call tools in this chat (group admins decide for groups)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.chat.settings import ChatSettingsService, Setting
from bot.handlers.groups import ChatAdmin
from bot.handlers.menus import edit_menu
from bot.i18n import Translator
from bot.keyboards.tools import ToolsSwitch, tools_keyboard
from bot.storage.dto import Chat
from bot.tools.executor import Toolbox

router = Router(name=__name__)


@router.message(Command("tools"), ChatAdmin())
async def show_tools(
    message: Message,
    t: Translator,
    chat_record: Chat,
    chat_settings: ChatSettingsService,
    toolbox: Toolbox | None,
) -> None:
    text, keyboard = _menu(chat_record, t, chat_settings, toolbox)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(ToolsSwitch.filter(), ChatAdmin())
async def switch_tools(
    query: CallbackQuery,
    callback_data: ToolsSwitch,
    t: Translator,
    chat_record: Chat,
    chat_settings: ChatSettingsService,
    toolbox: Toolbox | None,
) -> None:
    chat = await chat_settings.apply(chat_record, Setting.TOOLS, 1.0 if callback_data.on else 0.0)
    text, keyboard = _menu(chat, t, chat_settings, toolbox)
    await edit_menu(query, text, keyboard)
    await query.answer(t("tools-saved"))


def _menu(
    chat: Chat, t: Translator, chat_settings: ChatSettingsService, toolbox: Toolbox | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    if toolbox is None or not toolbox.names:
        return t("tools-none-configured"), None
    if not chat.tools_enabled:
        return t("tools-off"), tools_keyboard(False, t)
    names = ", ".join(t(f"tool-name-{name}") for name in toolbox.builtin)
    lines = [t("tools-on", tools=names)]
    servers = _servers(toolbox, t)
    if servers:
        lines.append("\n".join([t("tools-mcp-header"), *servers]))
    if chat_settings.is_auto(chat):
        lines.append(t("tools-auto"))
    elif not chat_settings.current_model(chat).capabilities.tools:
        lines.append(t("tools-model-cannot", model=chat_settings.current_model(chat).display_name))
    return "\n\n".join(lines), tools_keyboard(True, t)


def _servers(toolbox: Toolbox, t: Translator) -> list[str]:
    """One line per MCP server: its description and its tools, or that it is unavailable."""
    lines = []
    for group in toolbox.groups():
        if not group.available:
            lines.append(t("tools-mcp-unavailable", server=group.server))
            continue
        tools = ", ".join(tool.display_name for tool in group.tools) or "—"
        description = group.describe(t.locale)
        key = "tools-mcp-server" if description else "tools-mcp-server-plain"
        lines.append(t(key, server=group.server, description=description, tools=tools))
    return lines
