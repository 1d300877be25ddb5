"""Composition root: the one module that knows the concrete class of everything and wires it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Update

from bot.bootstrap_operations import (
    Watched,
    broadcast_service,
    instrument_telegram,
    metered,
    observability_server,
)
from bot.bootstrap_scaling import coordination_for, invalidator, scaled_for
from bot.broadcasts.runner import BroadcastRunner
from bot.characters.catalog import CharacterCatalog
from bot.characters.editor import CharacterEditor
from bot.characters.service import CharacterService
from bot.chat.answering import Answerer
from bot.chat.attachments import AttachmentLoader
from bot.chat.feedback import FeedbackService
from bot.chat.generations import Generations
from bot.chat.history_export import HistoryExporter
from bot.chat.language import LanguageService
from bot.chat.lifecycle import Lifecycle
from bot.chat.limits import TurnLimits
from bot.chat.ordering import ChatLocks, PasteMerger
from bot.chat.outbox import TurnOutbox
from bot.chat.ports import AnswerViews, Translate
from bot.chat.recovery import Recovery
from bot.chat.service import ChatService
from bot.chat.settings import ChatSettingsService
from bot.config import Settings
from bot.context import Services
from bot.coordination import Coordination, Invalidation
from bot.coordination.local import LocalCoordination
from bot.documents.reading import DocumentReader
from bot.documents.worker import DocumentWorker
from bot.handlers import get_routers
from bot.handlers.errors import router as errors_router
from bot.i18n import I18n
from bot.keyboards.feedback import feedback_keyboard
from bot.keyboards.plans import limit_notice
from bot.llm.registry import ModelRegistry, build_registry
from bot.middlewares import (
    ContextMiddleware,
    DedupeMiddleware,
    OrderingMiddleware,
    install_middlewares,
)
from bot.middlewares.dedupe import Keep
from bot.moderation.service import Moderator
from bot.moderation.setup import build_moderator
from bot.observability.server import ObservabilityServer
from bot.payments.catalog import Catalog
from bot.payments.money import MoneyTerms
from bot.payments.payload import PayloadSigner, secret_from_token
from bot.payments.quotas import QuotaService, utcnow
from bot.payments.service import PaymentService
from bot.routing.service import RoutingService
from bot.routing.setup import fallback_model_id, start_router
from bot.stats.service import StatsService
from bot.storage.blobs import BlobStore
from bot.storage.cache import RecordCache
from bot.storage.database import Database, open_database
from bot.storage.dto import TurnRecord
from bot.storage.migrate import upgrade
from bot.storage.uow import UnitOfWork
from bot.telegram.intake import Intake
from bot.telegram.outbox import PartSender
from bot.telegram.pacing import DeliveryRetry, Pacer
from bot.telegram.sender import MessageSender
from bot.telegram.session import BotSession
from bot.telegram.updates import mark
from bot.telegram.views import AnswerViewFactory, ViewContext
from bot.telegram.views.base import StreamSettings
from bot.tools.mcp.announce import Announce
from bot.tools.setup import ToolSet, build_tools
from bot.voice.service import VoiceService
from bot.voice.setup import build_voice

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = PROJECT_ROOT / "locales"
PROCESSED_UPDATES_KEPT = timedelta(days=7)
TURNS_KEPT = timedelta(days=7)
QUOTA_USAGE_KEPT = timedelta(days=32)  # the longest window a limit may have is 31 days
# aiosqlite runs each connection in a thread; every statement hops between that thread and the
# event loop, and each hop waits for the GIL hand-off (5 ms by default). Under load that made
# a transaction take ~50 ms; 0.5 ms cut the benchmark's per-turn overhead at 50 chats by ~35%.
GIL_SWITCH_INTERVAL_SECONDS = 0.0005

if TYPE_CHECKING:  # redis is imported only when [redis] is configured
    from bot.queue.scaled import Scaled


@dataclass
class Application:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    db: Database
    models: ModelRegistry
    merger: PasteMerger
    i18n: I18n
    pacer: Pacer
    characters: CharacterCatalog
    document_worker: DocumentWorker
    tools: ToolSet
    locks: ChatLocks
    lifecycle: Lifecycle
    intake: Intake
    recovery: Recovery
    broadcasts: BroadcastRunner
    observability: ObservabilityServer | None
    voice: VoiceService | None = None
    moderator: Moderator | None = None
    coordination: Coordination = dataclasses.field(default_factory=LocalCoordination)
    scaled: Scaled | None = None  # the update queue, with [redis]

    async def aclose(self) -> None:
        await self.merger.close()
        if self.voice is not None:
            await self.voice.close()
        await self.document_worker.close()
        await self.tools.close()
        await self.models.close()
        await self.bot.session.close()
        await self.coordination.close()
        if self.scaled is not None:
            await self.scaled.close()
        await self.db.close()


async def build_application(
    settings: Settings, env: Mapping[str, str], config_path: Path | None = None
) -> Application:
    """Build everything; if a step fails, what was opened before it is closed again.
    `config_path`: where SIGHUP re-reads the [mcp] servers from (None: no reload)."""
    opened: list[Callable[[], Awaitable[object]]] = []
    try:
        return await _build_application(settings, env, opened, config_path)
    except BaseException:
        for close in reversed(opened):
            with contextlib.suppress(Exception):
                await close()
        raise


async def _build_application(
    settings: Settings,
    env: Mapping[str, str],
    opened: list[Callable[[], Awaitable[object]]],
    config_path: Path | None,
) -> Application:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
    bot = _build_bot(settings)
    opened.append(bot.session.close)
    coordination = coordination_for(settings)
    opened.append(coordination.close)
    await coordination.start()  # an unreachable Redis stops the start here
    scaled = scaled_for(settings, opened)
    flood = settings.telegram
    pacer = Pacer(
        chat_rate=flood.chat_messages_per_second,
        group_per_minute=flood.group_messages_per_minute,
        global_per_second=flood.global_messages_per_second,
        shared=coordination.budgets,
    )
    # Every outgoing call, handlers' replies included: retried (outermost), then paced, then
    # counted (each attempt that reaches Telegram).
    bot.session.middleware(DeliveryRetry(deadline=settings.reliability.delivery_deadline_seconds))
    bot.session.middleware(pacer)
    telegram_calls = instrument_telegram(bot)
    models = metered(build_registry(settings, env))
    opened.append(models.close)
    routing = RoutingService(
        models,
        default_model=settings.chat.default_model,
        fallback_model=fallback_model_id(settings),
        preferred_overrides=settings.routing.preferred_models,
        followup_window_seconds=settings.routing.followup_window_seconds,
    )
    # Operator files first: a broken route file stops the bot before anything else happens.
    # The classifier then loads in the background; turns wait for it.
    if settings.routing.enabled:
        await start_router(settings, models, routing)
    db = open_database(settings.storage.url)
    opened.append(db.close)
    await upgrade(db)
    moderator = await build_moderator(settings, models, db)  # None: no chat is filtered
    await _prune(db)
    records = RecordCache()
    db.on_change(records.changed)
    db.on_change(lambda keys: coordination.invalidate(Invalidation(frozenset(keys))))
    i18n = I18n(LOCALES_DIR, settings.i18n.default_locale)
    locks = ChatLocks()
    merger = PasteMerger(
        locks,
        window=settings.chat.merge_window_seconds,
        threshold=settings.chat.split_paste_threshold,
    )
    opened.append(merger.close)
    dispatcher = Dispatcher(
        storage=coordination.fsm_storage, disable_fsm=True
    )  # see install_ordering
    # Polling keeps every update in its inbox; a webhook's deferred ones are kept here.
    # With [redis] the queue keeps updates until handled, not deferred ones.
    inbox = settings.telegram.mode == "polling" and settings.redis is None
    keep = None if inbox else _inbox_keeper(db)
    install_middlewares(
        dispatcher,
        OrderingMiddleware(locks, merger, keep),
        DedupeMiddleware(db, keep),
        ContextMiddleware(db, i18n, records),
    )
    dispatcher.include_routers(errors_router, *get_routers())
    chat_settings = ChatSettingsService(
        db,
        models,
        routing,
        routing_available=settings.routing.enabled,
        filtered=moderator.applies if moderator is not None else None,
    )
    catalog = CharacterCatalog(
        settings.characters.directory,
        models=[m.spec.id for m in models],
        tool_servers=list(settings.mcp.servers),
    )
    report = await asyncio.to_thread(catalog.scan)
    for problem in report.problems:  # at start: logged; the watcher tells admins of later edits
        logger.error("characters: %s", problem)
    characters = CharacterService(db, catalog)
    docs = settings.documents
    worker = DocumentWorker(
        workers=docs.worker_processes, timeout_seconds=docs.worker_timeout_seconds
    )
    opened.append(worker.close)
    blobs = BlobStore(docs.blob_dir)
    attachments = AttachmentLoader(
        blobs, image_history_turns=docs.image_history_turns, context_share=docs.context_share
    )
    payments, quotas, limits = _payments(settings, db, routing, chat_settings)
    tools = build_tools(settings, env)
    opened.append(tools.close)
    voice = build_voice(settings, env, quotas, limits.notice)
    if await quotas.prune(QUOTA_USAGE_KEPT):
        logger.info("pruned quota usage older than %s", QUOTA_USAGE_KEPT)
    lifecycle = Lifecycle()
    outbox = TurnOutbox(db)
    generations = Generations()
    coordination.serve_stops(generations.stop)
    answerer = Answerer(db, generations, attachments, limits, outbox, lifecycle, moderator)
    hidden = moderator.applies if moderator is not None else None
    views = AnswerViewFactory(_view_context(settings, bot, pacer), hidden)
    chat_service = ChatService(
        db,
        routing,
        generations,
        answerer,
        outbox,
        blobs=blobs,
        attachments=attachments,
        default_system_prompt=settings.chat.system_prompt,
        max_history_messages=settings.chat.max_history_messages,
        characters=catalog,
        limits=limits,
        toolbox=tools.toolbox,
        stop_answer=coordination.stop_answer,
    )
    reliability = settings.reliability
    recovery = Recovery(
        db,
        chat_service,
        outbox,
        quotas,
        views_for=_stored_views(views),
        send_part=views.send_part,
        find_part=views.find_part,
        translator=i18n.translator,
        window=timedelta(seconds=reliability.recovery_window_seconds),
        max_resumes=reliability.max_resumes,
    )
    services: Services = {
        "chat_service": chat_service,
        "chat_settings": chat_settings,
        "routing": routing,
        "characters": characters,
        "character_editor": CharacterEditor(
            db,
            catalog,
            [m.spec.id for m in models],
            changed=lambda: coordination.invalidate(Invalidation(characters=True)),
        ),
        "admins": frozenset(settings.admins),
        "languages": LanguageService(db, i18n),
        "history_export": HistoryExporter(db, chat_settings.model_name),
        "feedback": FeedbackService(db),
        "merger": merger,
        "document_reader": DocumentReader(docs, worker),
        "album_window": docs.album_window_seconds,
        "answer_views": views,
        "i18n": i18n,
        "payments": payments,
        "quotas": quotas,
        "toolbox": tools.toolbox,
        "voice": voice,
        "moderator": moderator,
        "stats_service": StatsService(db, models.specs(), utcnow),
        "broadcasts": broadcast_service(
            settings,
            bot,
            i18n,
            db,
            scaled.broadcast_guard(secrets.token_hex(6)) if scaled is not None else None,
        ),
    }
    dispatcher.workflow_data.update(services)
    app = Application(
        settings,
        bot,
        dispatcher,
        db,
        models,
        merger,
        i18n,
        pacer,
        catalog,
        worker,
        tools,
        locks,
        lifecycle,
        Intake(dispatcher, bot),
        recovery,
        services["broadcasts"].runner,
        None,
        voice,
        moderator,
        coordination,
        scaled,
    )
    coordination.serve_invalidations(invalidator(records, catalog))
    app.observability = observability_server(
        settings,
        db=db,
        bot=bot,
        calls=telegram_calls,
        watched=Watched(pacer, locks, app.intake, generations),
        stopping=lambda: lifecycle.stopping,
    )
    await tools.start(admin_announcer(app))  # MCP servers: started, their tools listed
    if config_path is not None:
        tools.reload_on_hangup(config_path)
    return app


@dataclass
class Ingress:
    """What an ingress process alone needs (`python -m bot ingress`)."""

    bot: Bot
    scaled: Scaled
    allowed_updates: list[str]

    async def aclose(self) -> None:
        await self.scaled.close()
        await self.bot.session.close()


def build_ingress(settings: Settings) -> Ingress:
    """No models, no database: the bot's identity, the queue and the update types handled."""
    if settings.redis is None:
        raise ValueError("python -m bot ingress needs a [redis] section")
    dispatcher = Dispatcher()
    dispatcher.include_routers(errors_router, *get_routers())
    bot = _build_bot(settings)
    allowed = dispatcher.resolve_used_update_types()
    from bot.queue.scaled import Scaled

    return Ingress(bot, Scaled.connect(settings.redis), allowed)


def _payments(
    settings: Settings,
    db: Database,
    routing: RoutingService,
    chat_settings: ChatSettingsService,
) -> tuple[PaymentService, QuotaService, TurnLimits]:
    money_config = settings.payments.money
    catalog = Catalog(
        settings.plans, settings.quotas, settings.i18n.default_locale, money=money_config
    )
    configured = settings.payments_secret.get_secret_value() if settings.payments_secret else ""
    secret = configured.encode() if configured else secret_from_token(_token(settings))
    ttl = timedelta(minutes=settings.payments.invoice_ttl_minutes)
    money = MoneyTerms(money_config, settings.provider_token) if money_config else None
    payments = PaymentService(
        db, catalog, PayloadSigner(secret, ttl), texts=settings.payments, money=money
    )
    quotas = QuotaService(db, catalog)
    notice = limit_notice(
        catalog, lambda model_id: chat_settings.model_name(model_id) or model_id, utcnow
    )
    limits = TurnLimits(quotas, routing, notice, fallback_model=settings.quotas.auto_fallback_model)
    return payments, quotas, limits


def _view_context(settings: Settings, bot: Bot, pacer: Pacer) -> ViewContext:
    sender = MessageSender(bot)
    return ViewContext(
        bot=bot,
        sender=sender,
        parts=PartSender(bot, sender),
        pacing=pacer,
        feedback_markup=feedback_keyboard,
        settings=StreamSettings(
            draft_interval=settings.telegram.draft_interval_seconds,
            edit_interval=settings.telegram.group_edit_interval_seconds,
            rich_messages=settings.telegram.rich_messages,
        ),
    )


def _token(settings: Settings) -> str:
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    return settings.telegram_bot_token.get_secret_value()


def _build_bot(settings: Settings) -> Bot:
    token = _token(settings)
    api_base = settings.telegram.api_base
    timeout = settings.telegram.request_timeout_seconds
    session = (
        BotSession(api=TelegramAPIServer.from_base(api_base), timeout=timeout)
        if api_base
        else BotSession(timeout=timeout)
    )
    return Bot(token, session=session)


def _stored_views(views: AnswerViewFactory) -> Callable[[TurnRecord, Translate], AnswerViews]:
    """The views for a stored turn's answer: its chat and question, its stale messages."""

    def make(turn: TurnRecord, t: Translate) -> AnswerViews:
        return views.for_chat(
            turn.chat_id, private=turn.private, reply_to=turn.reply_to, t=t, stale=turn.visible
        )

    return make


def _inbox_keeper(db: Database) -> Keep:
    """Keeps an update in the inbox (for a restart) while its turn waits for more parts."""

    async def keep(update: Update) -> None:
        raw: dict[str, Any] = update.model_dump(mode="json", exclude_none=True, by_alias=True)
        await db.write(lambda uow: uow.updates.receive([(mark(update, raw), raw)]))

    return keep


async def _prune(db: Database) -> None:
    now = datetime.now(UTC)

    def prune(uow: UnitOfWork) -> tuple[int, int]:
        return uow.updates.prune(now - PROCESSED_UPDATES_KEPT), uow.turns.prune(now - TURNS_KEPT)

    updates, turns = await db.write(prune)
    if updates or turns:
        logger.info("pruned %d old update records and %d finished turns", updates, turns)


def admin_announcer(app: Application) -> Announce:
    """Tells every operator a localized message (a broken file, an MCP server down or back)."""
    t = app.i18n.translator(app.i18n.default_locale)

    async def announce(key: str, **args: str) -> None:
        for admin in app.settings.admins:
            try:
                await app.bot.send_message(admin, t(key, **args))
            except TelegramAPIError as exc:  # an admin who never started the bot, say
                logger.warning("could not tell admin %s (%s %s): %s", admin, key, args, exc)

    return announce
