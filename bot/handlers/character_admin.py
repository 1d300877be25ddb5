"""Operators edit characters from Telegram: /characters, /character_show, /character_edit,
/character_new, /character_history, /character_revert. Everyone else is refused (operators
router). `/character_edit` takes the operator's next message as the new prompt and shows a
preview with Confirm and Cancel."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.characters.editor import CharacterEditor, EditError
from bot.characters.service import CharacterService
from bot.handlers.menus import edit_menu
from bot.handlers.operators import BotAdmin
from bot.i18n import Translator

router = Router(name=__name__)

PREVIEW_CHARS = 3000


class CharacterEditForm(StatesGroup):
    waiting = State()  # for the new prompt
    confirming = State()


class EditDecision(CallbackData, prefix="chedit"):
    confirm: bool


@router.message(Command("characters"), BotAdmin())
async def list_characters(message: Message, t: Translator, characters: CharacterService) -> None:
    lines = [t("character-admin-list")]
    for character in characters.catalog.all(t.locale):
        lines.append(f"• {character.id}: {character.text(character.name, t.locale)}")
    for name, error in sorted(characters.catalog.errors().items()):
        lines.append(t("character-admin-broken", file=name, error=error))
    await message.answer("\n".join(lines))


@router.message(Command("character_show"), BotAdmin())
async def show(
    message: Message, command: CommandObject, t: Translator, character_editor: CharacterEditor
) -> None:
    character_id = (command.args or "").strip()
    try:
        text = await character_editor.text(character_id)
    except EditError as exc:
        await message.answer(t(exc.key, **exc.args_))
        return
    document = BufferedInputFile(text.encode("utf-8"), filename=f"{character_id}.md")
    await message.answer_document(document, caption=t("character-admin-file", id=character_id))


@router.message(Command("character_edit", "character_new"), BotAdmin())
async def start_edit(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    t: Translator,
    character_editor: CharacterEditor,
) -> None:
    character_id = (command.args or "").strip()
    new = command.command == "character_new"
    try:
        exists = await character_editor.exists(character_id)
    except EditError as exc:
        await message.answer(t(exc.key, **exc.args_))
        return
    if new and exists:
        await message.answer(t("character-admin-exists", id=character_id))
        return
    if not new and not exists:
        await message.answer(t("character-admin-unknown", id=character_id))
        return
    await state.set_state(CharacterEditForm.waiting)
    await state.set_data({"id": character_id, "new": new})
    await message.answer(t("character-admin-send-prompt", id=character_id))


@router.message(StateFilter(CharacterEditForm.waiting), F.text & ~F.text.startswith("/"))
async def receive_prompt(message: Message, state: FSMContext, t: Translator) -> None:
    prompt = (message.text or "").strip()
    await state.update_data(prompt=prompt)
    await state.set_state(CharacterEditForm.confirming)
    data = await state.get_data()
    preview = prompt if len(prompt) <= PREVIEW_CHARS else prompt[:PREVIEW_CHARS] + "…"
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=t("character-admin-confirm"), callback_data=EditDecision(confirm=True))
    keyboard.button(text=t("character-admin-cancel"), callback_data=EditDecision(confirm=False))
    await message.answer(
        t("character-admin-preview", id=str(data["id"]), prompt=preview),
        reply_markup=keyboard.as_markup(),
    )


@router.callback_query(EditDecision.filter(), BotAdmin())
async def decide(
    query: CallbackQuery,
    callback_data: EditDecision,
    state: FSMContext,
    t: Translator,
    character_editor: CharacterEditor,
) -> None:
    data = await state.get_data()
    await state.clear()
    if not callback_data.confirm or "prompt" not in data:
        await edit_menu(query, t("character-admin-cancelled"), None)
        await query.answer()
        return
    character_id = str(data["id"])
    try:
        revision = await character_editor.set_prompt(
            query.from_user.id, character_id, str(data["prompt"]), new=bool(data["new"])
        )
    except EditError as exc:
        await edit_menu(query, t(exc.key, **exc.args_), None)
        await query.answer()
        return
    saved = t("character-admin-saved", id=character_id, revision=revision)
    await edit_menu(query, saved, None)
    await query.answer(saved)


@router.message(Command("character_history"), BotAdmin())
async def history(
    message: Message, command: CommandObject, t: Translator, character_editor: CharacterEditor
) -> None:
    character_id = (command.args or "").strip()
    try:
        revisions = await character_editor.history(character_id)
    except EditError as exc:
        await message.answer(t(exc.key, **exc.args_))
        return
    if not revisions:
        await message.answer(t("character-admin-no-history", id=character_id))
        return
    lines = [t("character-admin-history", id=character_id)]
    for item in revisions:
        when = item.created_at.strftime("%Y-%m-%d %H:%M UTC") if item.created_at else "?"
        lines.append(
            t(
                "character-admin-history-line",
                revision=item.revision,
                action=item.action,
                author=str(item.author_id),
                when=when,
            )
        )
    await message.answer("\n".join(lines))


@router.message(Command("character_revert"), BotAdmin())
async def revert(
    message: Message, command: CommandObject, t: Translator, character_editor: CharacterEditor
) -> None:
    parts = (command.args or "").split()
    if len(parts) != 2 or not parts[1].isdigit():
        await message.answer(t("character-admin-revert-usage"))
        return
    character_id, revision = parts[0], int(parts[1])
    if message.from_user is None:
        return
    try:
        new_revision = await character_editor.revert(message.from_user.id, character_id, revision)
    except EditError as exc:
        await message.answer(t(exc.key, **exc.args_))
        return
    await message.answer(
        t("character-admin-reverted", id=character_id, revision=revision, new=new_revision)
    )
