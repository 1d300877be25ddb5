"""Composition root: the one module that knows the concrete class of everything and wires it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.characters.catalog import CharacterCatalog
from bot.characters.editor import CharacterEditor
from bot.characters.service import CharacterService
from bot.chat.attachments import AttachmentLoader
from bot.chat.feedback import FeedbackService
from bot.chat.generations import Generations
from bot.chat.history_export import HistoryExporter
from bot.chat.language import LanguageService
from bot.chat.limits import TurnLimits
from bot.chat.ordering import ChatLocks, PasteMerger
from bot.chat.service import ChatService
from bot.chat.settings import ChatSettingsService
from bot.config import Settings
from bot.context import Services
from bot.documents.reading import DocumentReader
from bot.documents.worker import DocumentWorker
from bot.handlers import get_routers
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
from bot.payments.catalog import Catalog
from bot.payments.payload import PayloadSigner, secret_from_token
from bot.payments.quotas import QuotaService, utcnow
from bot.payments.service import PaymentService
from bot.routing.service import RoutingService
from bot.routing.setup import fallback_model_id, start_router
from bot.storage.blobs import BlobStore
from bot.storage.engine import create_engine, create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.uow import UnitOfWorkFactory
from bot.telegram.commands import register_commands
from bot.telegram.pacing import Pacer
from bot.telegram.sender import MessageSender
from bot.telegram.views import AnswerViewFactory, ViewContext
from bot.telegram.views.base import StreamSettings
from bot.tools.setup import ToolSet, build_tools

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCALES_DIR = PROJECT_ROOT / "locales"
PROCESSED_UPDATES_KEPT = timedelta(days=7)
QUOTA_USAGE_KEPT = timedelta(days=32)  # the longest window a limit may have is 31 days
# aiosqlite runs each connection in a thread; every statement hops between that thread and the
# event loop, and each hop waits for the GIL hand-off (5 ms by default). Under load that made
# a transaction take ~50 ms; 0.5 ms cut the benchmark's per-turn overhead at 50 chats by ~35%.
GIL_SWITCH_INTERVAL_SECONDS = 0.0005


@dataclass
class Application:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    engine: AsyncEngine
    models: ModelRegistry
    merger: PasteMerger
    i18n: I18n
    pacer: Pacer
    characters: CharacterCatalog
    document_worker: DocumentWorker
    tools: ToolSet

    async def aclose(self) -> None:
        await self.merger.close()
        await self.document_worker.close()
        await self.tools.close()
        await self.models.close()
        await self.bot.session.close()
        await self.engine.dispose()


async def build_application(settings: Settings, env: Mapping[str, str]) -> Application:
    """Build everything; if a step fails, what was opened before it is closed again."""
    opened: list[Callable[[], Awaitable[object]]] = []
    try:
        return await _build_application(settings, env, opened)
    except BaseException:
        for close in reversed(opened):
            with contextlib.suppress(Exception):
                await close()
        raise


async def _build_application(
    settings: Settings, env: Mapping[str, str], opened: list[Callable[[], Awaitable[object]]]
) -> Application:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
    bot = _build_bot(settings)
    opened.append(bot.session.close)
    pacer = Pacer()
    bot.session.middleware(pacer)  # every outgoing call, handlers' replies included
    models = build_registry(settings, env)
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
    engine = create_engine(settings.storage.url)
    opened.append(engine.dispose)
    await upgrade(engine)
    uow = UnitOfWorkFactory(create_session_factory(engine))
    await _prune_processed_updates(uow)
    i18n = I18n(LOCALES_DIR, settings.i18n.default_locale)
    locks = ChatLocks()
    merger = PasteMerger(
        locks,
        window=settings.chat.merge_window_seconds,
        threshold=settings.chat.split_paste_threshold,
    )
    opened.append(merger.close)
    dispatcher = Dispatcher()
    install_middlewares(
        dispatcher,
        OrderingMiddleware(locks, merger),
        DedupeMiddleware(uow),
        ContextMiddleware(uow, i18n),
    )
    dispatcher.include_routers(*get_routers())
    chat_settings = ChatSettingsService(
        uow, models, routing, routing_available=settings.routing.enabled
    )
    catalog = CharacterCatalog(settings.characters.directory, models=[m.spec.id for m in models])
    report = await asyncio.to_thread(catalog.scan)
    for problem in report.problems:  # at start: logged; the watcher tells admins of later edits
        logger.error("characters: %s", problem)
    characters = CharacterService(uow, catalog)
    docs = settings.documents
    worker = DocumentWorker(
        workers=docs.worker_processes, timeout_seconds=docs.worker_timeout_seconds
    )
    opened.append(worker.close)
    blobs = BlobStore(docs.blob_dir)
    attachments = AttachmentLoader(
        blobs, image_history_turns=docs.image_history_turns, context_share=docs.context_share
    )
    payments, quotas, limits = _payments(settings, uow, routing, chat_settings)
    tools = build_tools(settings, env)
    opened.append(tools.close)
    if await quotas.prune(QUOTA_USAGE_KEPT):
        logger.info("pruned quota usage older than %s", QUOTA_USAGE_KEPT)
    services: Services = {
        "chat_service": ChatService(
            uow,
            routing,
            Generations(),
            blobs=blobs,
            attachments=attachments,
            default_system_prompt=settings.chat.system_prompt,
            max_history_messages=settings.chat.max_history_messages,
            characters=catalog,
            limits=limits,
            toolbox=tools.toolbox,
        ),
        "chat_settings": chat_settings,
        "routing": routing,
        "characters": characters,
        "character_editor": CharacterEditor(uow, catalog, [m.spec.id for m in models]),
        "admins": frozenset(settings.admins),
        "languages": LanguageService(uow, i18n),
        "history_export": HistoryExporter(uow, chat_settings.model_name),
        "feedback": FeedbackService(uow),
        "merger": merger,
        "document_reader": DocumentReader(docs, worker),
        "album_window": docs.album_window_seconds,
        "answer_views": AnswerViewFactory(_view_context(settings, bot, pacer)),
        "i18n": i18n,
        "payments": payments,
        "quotas": quotas,
        "toolbox": tools.toolbox,
    }
    dispatcher.workflow_data.update(services)
    return Application(
        settings, bot, dispatcher, engine, models, merger, i18n, pacer, catalog, worker, tools
    )


def _payments(
    settings: Settings,
    uow: UnitOfWorkFactory,
    routing: RoutingService,
    chat_settings: ChatSettingsService,
) -> tuple[PaymentService, QuotaService, TurnLimits]:
    catalog = Catalog(settings.plans, settings.quotas, settings.i18n.default_locale)
    configured = settings.payments_secret.get_secret_value() if settings.payments_secret else ""
    secret = configured.encode() if configured else secret_from_token(_token(settings))
    ttl = timedelta(minutes=settings.payments.invoice_ttl_minutes)
    payments = PaymentService(uow, catalog, PayloadSigner(secret, ttl), texts=settings.payments)
    quotas = QuotaService(uow, catalog)
    notice = limit_notice(
        catalog, lambda model_id: chat_settings.model_name(model_id) or model_id, utcnow
    )
    limits = TurnLimits(quotas, routing, notice, fallback_model=settings.quotas.auto_fallback_model)
    return payments, quotas, limits


def _view_context(settings: Settings, bot: Bot, pacer: Pacer) -> ViewContext:
    return ViewContext(
        bot=bot,
        sender=MessageSender(bot),
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
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    )
    return Bot(token, session=session)


async def _prune_processed_updates(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        removed = await unit.updates.prune(datetime.now(UTC) - PROCESSED_UPDATES_KEPT)
        await unit.commit()
    if removed:
        logger.info("pruned %d old processed-update records", removed)


async def run(app: Application) -> None:
    await register_commands(app.bot, app.i18n)
    me = await app.bot.me()
    logger.info("bot @%s starting in %s mode", me.username, app.settings.telegram.mode)
    watcher = (
        asyncio.create_task(app.characters.watch(_admin_notifier(app)), name="characters")
        if app.settings.characters.watch
        else None
    )
    try:
        if app.settings.telegram.mode == "webhook":
            await _run_webhook(app)
        else:
            # A webhook left from an earlier webhook deployment would make polling fail (409).
            await app.bot.delete_webhook(drop_pending_updates=False)
            await app.dispatcher.start_polling(
                app.bot,
                allowed_updates=app.dispatcher.resolve_used_update_types(),
                close_bot_session=False,
            )
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await app.aclose()


def _admin_notifier(app: Application) -> Callable[[str], Awaitable[None]]:
    """Tells every operator (the `admins` of the configuration) about a broken file."""
    t = app.i18n.translator(app.i18n.default_locale)

    async def notify(problem: str) -> None:
        for admin in app.settings.admins:
            try:
                await app.bot.send_message(admin, t("character-file-error", error=problem))
            except TelegramAPIError as exc:  # an admin who never started the bot, say
                logger.warning("could not tell admin %s about %s: %s", admin, problem, exc)

    return notify


async def _run_webhook(app: Application) -> None:
    cfg = app.settings.telegram
    secret = (
        app.settings.webhook_secret.get_secret_value()
        if app.settings.webhook_secret
        else secrets.token_urlsafe(32)
    )
    web_app = web.Application()
    # handle_in_background=False: Telegram sends a chat's next update only after this one is
    # answered, which keeps each chat in order even across several replicas.
    SimpleRequestHandler(
        app.dispatcher, app.bot, handle_in_background=False, secret_token=secret
    ).register(web_app, path=cfg.webhook_path)
    setup_application(web_app, app.dispatcher, bot=app.bot)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, cfg.webhook_host, cfg.webhook_port).start()
    await app.bot.set_webhook(
        cfg.webhook_url or "",  # Settings require it in webhook mode
        secret_token=secret,
        max_connections=cfg.webhook_max_connections,
        allowed_updates=app.dispatcher.resolve_used_update_types(),
    )
    logger.info("webhook server on %s:%s%s", cfg.webhook_host, cfg.webhook_port, cfg.webhook_path)
    try:
        await _wait_for_signal()
    finally:
        await runner.cleanup()


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
