"""Build the router from the configuration: routes, classifier, thresholds and judge."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from bot.config import AUTO_MODEL, RoutingConfig, Settings
from bot.heap import freeze_long_lived
from bot.llm.base import ChatModel
from bot.llm.registry import ModelRegistry
from bot.routing.calibration import Calibration, CalibrationError, calibrate
from bot.routing.classifier import LocalClassifier, load_cached, load_or_train
from bot.routing.judge import LLMJudge
from bot.routing.router import Router
from bot.routing.routes import RouteBook, check_tool_servers, load_routes
from bot.routing.service import RoutingService, reference_problems

logger = logging.getLogger(__name__)
SLOW_START_SECONDS = 2.0  # longer than this, the log says what the start-up is doing


def fallback_model_id(settings: Settings) -> str:
    if settings.routing.auto_fallback_model is not None:
        return settings.routing.auto_fallback_model
    if settings.chat.default_model != AUTO_MODEL:
        return settings.chat.default_model
    return settings.chat_model_ids[0]


def judge_model(config: RoutingConfig, models: ModelRegistry) -> ChatModel:
    """The configured judge, else the cheapest configured model (the first of equals)."""
    if config.judge_model is not None:
        return models.get(config.judge_model)
    return min(
        models,
        key=lambda m: m.spec.input_price_per_million + m.spec.output_price_per_million,
    )


def stored_calibration(book: RouteBook, config: RoutingConfig) -> Calibration | None:
    """The calibration file, if it exists, is readable and was made from these route files."""
    try:
        calibration = Calibration.load(config.calibration_path)
    except (FileNotFoundError, CalibrationError):
        return None
    return calibration if calibration.digest == book.digest else None


def current_calibration(book: RouteBook, config: RoutingConfig) -> Calibration:
    """The calibration file if it was made from these route files; otherwise made now."""
    stored = stored_calibration(book, config)
    if stored is not None:
        return stored
    logger.warning(
        "routing: %s is missing, unreadable or made for other route files; calibrating now "
        "(run `python -m bot routes calibrate` to keep the result)",
        config.calibration_path,
    )
    return calibrate(book)


def prepare(config: RoutingConfig) -> tuple[RouteBook, LocalClassifier, Calibration]:
    """Route files, the classifier (cached, else trained) and thresholds (blocking)."""
    book = load_routes(config.routes_dir, default=config.default_route)
    return book, load_or_train(book, config.cache_dir), current_calibration(book, config)


def _cached_parts(config: RoutingConfig) -> tuple[RouteBook, LocalClassifier, Calibration] | None:
    """The route files with their cached classifier and current calibration, if both exist
    (blocking: reading them takes a second or two; run it in a worker thread)."""
    book = load_routes(config.routes_dir, default=config.default_route)
    calibration = stored_calibration(book, config)
    classifier = load_cached(book, config.cache_dir)
    if calibration is None or classifier is None:
        return None
    return book, classifier, calibration


async def _train_in_child(config: RoutingConfig) -> tuple[RouteBook, LocalClassifier, Calibration]:
    """Training and calibration in a child process: they need a few hundred MB for a few
    seconds, which the bot would otherwise keep as its peak memory for its whole life. If the
    start is cancelled (Ctrl+C during the first start), the child is ended, not waited for."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, prepare, config)
    finally:
        for process in list(pool._processes.values()):  # no public way before Python 3.14
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)


async def build_router(settings: Settings, models: ModelRegistry | None) -> Router:
    """With a cached classifier and a current calibration this only reads them; otherwise
    they are made (seconds on a first start)."""
    config = settings.routing
    parts = await asyncio.to_thread(_cached_parts, config)
    if parts is None:
        logger.info(
            "routing: training the message classifier for these route files (first start "
            "after a change, about 15-30 s; cached in %s for the next starts); messages wait "
            "for it",
            config.cache_dir,
        )
        parts = await _train_in_child(config)
    book, classifier, calibration = parts
    judge = None
    if config.judge and models is not None:
        judge = LLMJudge(judge_model(config, models), book, config.judge_timeout_seconds)
    return Router(
        book, classifier, calibration, judge, followup_max_words=config.followup_max_words
    )


async def start_router(
    settings: Settings, models: ModelRegistry, routing: RoutingService
) -> asyncio.Task[Router]:
    """Check the route files now (a broken one stops the start), then load the classifier in
    the background: the bot starts at once, and turns wait for the router (RoutingService)."""
    config = settings.routing
    book = await asyncio.to_thread(load_routes, config.routes_dir, default=config.default_route)
    check_tool_servers(book, settings.mcp.servers)
    task = asyncio.create_task(_load_router(settings, models, routing), name="routing")
    routing.install_later(task)
    return task


async def _load_router(
    settings: Settings, models: ModelRegistry, routing: RoutingService
) -> Router:
    started = time.monotonic()
    loading = asyncio.ensure_future(build_router(settings, models))
    try:
        done, _ = await asyncio.wait({loading}, timeout=SLOW_START_SECONDS)
        if not done:
            logger.info("routing: still loading the message classifier; messages wait for it")
        router = await loading
    except Exception:
        logger.exception("routing: the classifier could not be loaded; messages go unrouted")
        raise
    routing.install(router)
    problems = reference_problems(
        router.book, settings.routing.preferred_models, list(settings.models)
    )
    for problem in problems:
        logger.warning("routing: %s", problem)
    logger.info("routing: ready in %.1f s", time.monotonic() - started)
    freeze_long_lived("loading the routing classifier", collect=False)  # maybe serving
    return router
