"""Build the router from the configuration: routes, classifier, thresholds and judge."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from bot.config import AUTO_MODEL, RoutingConfig, Settings
from bot.llm.base import ChatModel
from bot.llm.registry import ModelRegistry
from bot.routing.calibration import Calibration, CalibrationError, calibrate
from bot.routing.classifier import LocalClassifier, load_cached, load_or_train
from bot.routing.judge import LLMJudge
from bot.routing.router import Router
from bot.routing.routes import RouteBook, check_tool_servers, load_routes

logger = logging.getLogger(__name__)


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


def build_router_blocking(settings: Settings, models: ModelRegistry | None) -> Router:
    """Blocking (seconds on first start): run it in a worker thread.

    With a cached classifier and a current calibration this only reads them. Otherwise
    training and calibration run in a child process: they need a few hundred MB for a few
    seconds, which the bot would otherwise keep as its peak memory for its whole life.
    """
    config = settings.routing
    book = load_routes(config.routes_dir, default=config.default_route)
    check_tool_servers(book, settings.mcp.servers)
    calibration = stored_calibration(book, config)
    classifier = load_cached(book, config.cache_dir)
    if calibration is None or classifier is None:
        logger.info(
            "routing: training the classifier for these route files (first start after a "
            "change; cached in %s for the next starts)",
            config.cache_dir,
        )
        started = time.monotonic()
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            book, classifier, calibration = pool.submit(prepare, config).result()
        logger.info("routing: ready in %.1f s", time.monotonic() - started)
    judge = None
    if config.judge and models is not None:
        judge = LLMJudge(judge_model(config, models), book, config.judge_timeout_seconds)
    return Router(
        book, classifier, calibration, judge, followup_max_words=config.followup_max_words
    )


async def build_router(settings: Settings, models: ModelRegistry) -> Router:
    return await asyncio.to_thread(build_router_blocking, settings, models)
