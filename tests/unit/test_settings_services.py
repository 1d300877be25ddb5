"""Settings, language, feedback and history-export services on a real migrated SQLite file;
unknown-command detection against real routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram import Dispatcher, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.chat.feedback import FeedbackService, VoteOutcome
from bot.chat.history_export import HistoryExporter, TranscriptLabels, render_markdown
from bot.chat.language import LanguageService, UnknownLocaleError
from bot.chat.settings import (
    ChatSettingsService,
    InvalidSettingError,
    InvalidShortNameError,
    Setting,
    SystemPromptTooLongError,
)
from bot.handlers.unknown import is_known
from bot.i18n import I18n
from bot.llm.registry import ModelRegistry
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import ChatRequest, StreamEvent
from bot.routing.service import RoutingService
from bot.storage.database import Database, open_database
from bot.storage.dto import Chat, MessageStatus, Role, StoredMessage
from bot.storage.migrate import upgrade
from bot.storage.uow import UnitOfWork

LOCALES = Path(__file__).parents[2] / "locales"


class FakeModel:
    def __init__(self, model_id: str, name: str, max_output: int) -> None:
        caps = ModelCapabilities(
            vision=False,
            tools=False,
            system_prompt=True,
            pdf_native=False,
            context_tokens=16_000,
            max_output_tokens=max_output,
        )
        self._spec = ModelSpec(
            id=model_id, display_name=name, provider="p", remote_name=model_id, capabilities=caps
        )

    @property
    def spec(self) -> ModelSpec:
        return self._spec

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}")
    await upgrade(db)
    yield db
    await db.close()


@pytest.fixture
def registry() -> ModelRegistry:
    models = [FakeModel("gpt", "GPT Test", 5000), FakeModel("small", "Small", 1000)]
    return ModelRegistry({m.spec.id: m for m in models}, [])


def make_service(
    db: Database, registry: ModelRegistry, *, routing: bool = False
) -> ChatSettingsService:
    routes = RoutingService(
        registry,
        default_model="gpt",
        fallback_model="gpt",
        preferred_overrides={},
        followup_window_seconds=60,
    )
    return ChatSettingsService(db, registry, routes, routing_available=routing)


async def make_chat(db: Database, chat_id: int, model: str | None = None) -> Chat:
    def store(unit: UnitOfWork) -> Chat | None:
        unit.chats.upsert(chat_id, type_="private", title=None)
        if model:
            unit.chats.set_model(chat_id, model)
        return unit.chats.get(chat_id)

    chat = await db.write(store)
    assert chat is not None
    return chat


async def test_apply_stores_values_for_one_chat_and_none_restores_default(
    db: Database, registry: ModelRegistry
) -> None:
    service = make_service(db, registry)
    chat = await make_chat(db, 1)
    other = await make_chat(db, 2)
    chat = await service.apply(chat, Setting.TEMPERATURE, 0.0)
    chat = await service.apply(chat, Setting.TOP_P, 0.9)
    chat = await service.apply(chat, Setting.MAX_OUTPUT_TOKENS, 4096.0)
    chat = await service.apply(chat, Setting.FOOTER, 1.0)
    assert (chat.temperature, chat.top_p, chat.max_output_tokens, chat.show_footer) == (
        0.0,
        0.9,
        4096,
        True,
    )
    untouched = await db.read(lambda unit: unit.chats.get(other.id))
    assert untouched == other
    chat = await service.apply(chat, Setting.TEMPERATURE, None)
    assert chat.temperature is None
    assert chat.top_p == 0.9


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        (Setting.TEMPERATURE, 2.5),
        (Setting.TEMPERATURE, -0.1),
        (Setting.TOP_P, 0.0),
        (Setting.TOP_P, 1.1),
        (Setting.MAX_OUTPUT_TOKENS, 1001.0),  # above the "small" model's limit
        (Setting.MAX_OUTPUT_TOKENS, 100.5),
        (Setting.FOOTER, 2.0),
    ],
)
async def test_apply_refuses_values_out_of_range(
    db: Database, registry: ModelRegistry, setting: Setting, value: float
) -> None:
    service = make_service(db, registry)
    chat = await make_chat(db, 1, model="small")
    with pytest.raises(InvalidSettingError):
        await service.apply(chat, setting, value)
    assert await db.read(lambda unit: unit.chats.get(1)) == chat


async def test_max_tokens_presets_are_capped_by_the_chats_model(
    db: Database, registry: ModelRegistry
) -> None:
    service = make_service(db, registry)
    small = await make_chat(db, 1, model="small")
    default = await make_chat(db, 2)
    assert service.max_output_tokens_presets(small) == [256, 512, 1000]
    assert service.max_output_tokens_presets(default) == [256, 512, 1024, 2048, 4096, 5000]


async def test_system_prompt_limits_and_reset(db: Database, registry: ModelRegistry) -> None:
    service = make_service(db, registry)
    await make_chat(db, 1)
    with pytest.raises(SystemPromptTooLongError) as error:
        await service.set_system_prompt(1, "x" * 4001)
    assert error.value.limit == 4000
    with pytest.raises(SystemPromptTooLongError):  # emoji count twice, as Telegram counts them
        await service.set_system_prompt(1, "🙂" * 2001)
    with pytest.raises(InvalidSettingError):
        await service.set_system_prompt(1, "   ")
    await service.set_system_prompt(1, "  Answer like a pirate.\n")
    stored = await db.read(lambda unit: unit.chats.get(1))
    assert stored is not None
    assert stored.system_prompt == "Answer like a pirate."
    await service.reset_system_prompt(1)
    stored = await db.read(lambda unit: unit.chats.get(1))
    assert stored is not None
    assert stored.system_prompt is None


@pytest.mark.parametrize("name", ["Robo", "ботик", "r2-d2", "A_1"])
async def test_short_names_accepted(db: Database, registry: ModelRegistry, name: str) -> None:
    service = make_service(db, registry)
    await make_chat(db, -1)
    await service.set_short_name(-1, name)
    stored = await db.read(lambda unit: unit.chats.get(-1))
    assert stored is not None
    assert stored.short_name == name


@pytest.mark.parametrize("name", ["R", "two words", "_x", "x" * 33, "@bot"])
async def test_short_names_refused(db: Database, registry: ModelRegistry, name: str) -> None:
    service = make_service(db, registry)
    with pytest.raises(InvalidShortNameError):
        await service.set_short_name(-1, name)


async def test_language_options_are_named_in_their_own_language(db: Database) -> None:
    await db.write(
        lambda unit: unit.users.upsert(5, username=None, first_name="A", language_code="en")
    )
    service = LanguageService(db, I18n(LOCALES, "en"))
    assert [(o.code, o.name) for o in service.options()] == [("en", "English"), ("ru", "Русский")]
    chosen = await service.choose(5, "ru")
    assert chosen("settings-saved") == "Сохранено для этого чата."
    user = await db.write(
        lambda unit: unit.users.upsert(5, username=None, first_name="A", language_code="en")
    )
    assert user.locale == "ru"
    with pytest.raises(UnknownLocaleError):
        await service.choose(5, "de")


async def test_feedback_outcomes(db: Database) -> None:
    await make_chat(db, 1)
    await make_chat(db, 2)

    def answered(unit: UnitOfWork) -> StoredMessage:
        conv = unit.conversations.create(1)
        return unit.messages.add(conv, Role.ASSISTANT, [{"type": "text", "text": "a"}])

    answer = await db.write(answered)
    service = FeedbackService(db)
    assert await service.vote(1, answer.id, 7, 1) is VoteOutcome.RECORDED
    assert await service.vote(1, answer.id, 7, 1) is VoteOutcome.UNCHANGED
    assert await service.vote(1, answer.id, 7, -1) is VoteOutcome.CHANGED
    assert await service.vote(2, answer.id, 7, 1) is VoteOutcome.UNKNOWN_ANSWER  # other chat
    assert await service.vote(1, answer.id + 1, 7, 1) is VoteOutcome.UNKNOWN_ANSWER
    with pytest.raises(ValueError, match="vote"):
        await service.vote(1, answer.id, 7, 0)


def message(n: int, role: Role, text: str, **extra: object) -> StoredMessage:
    return StoredMessage(
        id=n,
        conversation_id=1,
        role=role,
        content=[{"type": "text", "text": text}],
        status=extra.pop("status", MessageStatus.COMPLETE),  # type: ignore[arg-type]
        model=extra.pop("model", None),  # type: ignore[arg-type]
    )


def test_markdown_transcript_marks_each_turn() -> None:
    labels = TranscriptLabels(
        heading="Chat",
        you="You",
        interrupted="interrupted",
        model_name=lambda model: {"gpt": "GPT Test"}.get(model or "", model or "Assistant"),
    )
    text = render_markdown(
        [
            message(1, Role.USER, "hello"),
            message(2, Role.ASSISTANT, "hi there", model="gpt"),
            message(3, Role.USER, "more"),
            message(4, Role.ASSISTANT, "half", model="gone", status=MessageStatus.INTERRUPTED),
        ],
        labels,
    )
    assert text == (
        "# Chat\n\n## You\n\nhello\n\n## GPT Test\n\nhi there\n\n## You\n\nmore\n\n"
        "## gone (interrupted)\n\nhalf\n"
    )


def test_markdown_transcript_has_attachments_and_tool_steps() -> None:
    labels = TranscriptLabels(
        heading="Chat",
        you="You",
        interrupted="interrupted",
        model_name=lambda model: model or "Assistant",
        t=I18n(LOCALES, "en").translator("en"),
    )
    photo = {
        "type": "image",
        "sha256": "ab",
        "media_type": "image/png",
        "width": 640,
        "height": 480,
    }
    user = StoredMessage(
        id=1,
        conversation_id=1,
        role=Role.USER,
        content=[photo, {"type": "document", "name": "notes.pdf", "kind": "pdf"}],
        status=MessageStatus.COMPLETE,
    )
    answer = StoredMessage(
        id=2,
        conversation_id=1,
        role=Role.ASSISTANT,
        content=[
            {"type": "tool_call", "id": "c1", "name": "calculator", "arguments": '{"e": "6*7"}'},
            {"type": "tool_result", "call_id": "c1", "name": "calculator", "content": "42"},
            {"type": "text", "text": "It is 42."},
        ],
        status=MessageStatus.COMPLETE,
        model="gpt",
    )
    text = render_markdown([user, answer], labels)
    assert "## You\n\n_[a picture, 640×480]_\n\n_[a file: notes.pdf]_\n" in text
    assert (
        '> Called the tool calculator: {"e": "6*7"}\n\n> calculator returned:\n> 42\n\nIt is 42.\n'
    ) in text


async def test_export_of_the_current_conversation(db: Database, registry: ModelRegistry) -> None:
    settings = make_service(db, registry)
    exporter = HistoryExporter(db, settings.model_name)
    t = I18n(LOCALES, "en").translator("ru")
    chat = await make_chat(db, 3)
    assert await exporter.export(chat, t) is None

    def converse(unit: UnitOfWork) -> None:
        conv = unit.conversations.create(3)
        unit.chats.set_conversation(3, conv)
        unit.messages.add(conv, Role.USER, [{"type": "text", "text": "вопрос"}])
        unit.messages.add(conv, Role.ASSISTANT, [{"type": "text", "text": "ответ"}], model="small")

    await db.write(converse)
    exported = await exporter.export(chat, t)
    assert exported is not None
    assert exported.file_name == f"conversation-3-{datetime.now(UTC):%Y-%m-%d}.md"
    content = exported.content.decode()
    assert content.startswith("# Разговор в чате «личный чат», начат ")
    assert content.splitlines()[1:] == ["", "## Вы", "", "вопрос", "", "## Small", "", "ответ"]
    assert exported.turns == 2


def test_unknown_command_detection_sees_every_router() -> None:
    dispatcher = Dispatcher()
    first, last = Router(), Router()

    async def noop(message: Message) -> None:
        return None

    first.message.register(noop, CommandStart())
    first.message.register(noop, Command("settings", "getsystem"))
    last.message.register(noop, Command("retry"))
    last.message.register(noop, Command("Shout", ignore_case=True))
    dispatcher.include_routers(first, last)
    for known in ("start", "settings", "getsystem", "retry", "shout"):
        assert is_known(known, dispatcher), known
    for unknown in ("foo", "setting", "retryx"):
        assert not is_known(unknown, dispatcher), unknown
