"""The content filter from the configuration: topics, the classifier (cached, else trained in
a child process), the judge; and the watcher that reloads edited topic files."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from watchfiles import awatch

from bot.config import Settings
from bot.llm.registry import ModelRegistry
from bot.moderation.classifier import TopicClassifier, cache_path, load_or_build
from bot.moderation.config import ModerationConfig
from bot.moderation.corpus import neutral_texts
from bot.moderation.judge import ModerationJudge
from bot.moderation.service import Moderator
from bot.moderation.topics import TopicBook, TopicFileError, load_topics
from bot.routing.setup import judge_model
from bot.storage.database import Database

logger = logging.getLogger(__name__)

Problem = Callable[[str], Awaitable[None]]


def prepare(config: ModerationConfig, routes_dir: Path | None) -> tuple[TopicBook, TopicClassifier]:
    """Topic files and their classifier (blocking: seconds when it must be trained)."""
    book = load_topics(config.topics_dir)
    neutral = neutral_texts(routes_dir)
    targets = (config.miss_target, config.false_block_target)
    return book, load_or_build(book, neutral, targets, config.cache_dir)


def prepare_blocking(
    config: ModerationConfig, routes_dir: Path | None
) -> tuple[TopicBook, TopicClassifier] | None:
    """None when there are no topic files (then nothing is loaded at all). Training runs in a
    child process: it needs a few hundred MB for seconds, which the bot would keep."""
    book = load_topics(config.topics_dir)
    if not book:
        return None
    neutral = neutral_texts(routes_dir)
    targets = (config.miss_target, config.false_block_target)
    if cache_path(book, neutral, targets, config.cache_dir).is_file():
        return prepare(config, routes_dir)
    logger.info("moderation: training the classifier for these topic files (cached after)")
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        prepared = pool.submit(prepare, config, routes_dir).result()
    logger.info("moderation: ready in %.1f s", time.monotonic() - started)
    return prepared


def make_judge(
    settings: Settings, book: TopicBook, models: ModelRegistry | None
) -> ModerationJudge | None:
    config = settings.moderation
    if not config.judge or models is None:
        return None
    model = models.get(config.judge_model) if config.judge_model else None
    model = model or judge_model(settings.routing, models)
    return ModerationJudge(model, book, config.judge_timeout_seconds, config.bias)


async def build_moderator(
    settings: Settings, models: ModelRegistry, db: Database | None
) -> Moderator | None:
    """None when the filter is off or has no topics: chats are then never checked."""
    config = settings.moderation
    if not config.enabled:
        return None
    prepared = await asyncio.to_thread(prepare_blocking, config, settings.routing.routes_dir)
    if prepared is None:
        logger.warning(
            "moderation: on, but %s has no topic files: nothing is checked", config.topics_dir
        )
        return None
    book, classifier = prepared
    thresholds = classifier.thresholds
    logger.info(
        "moderation: topics %s; local stage passes below %.2f, blocks from %.2f; applies to "
        "%s groups%s",
        ", ".join(book.ids),
        thresholds.allow_below,
        thresholds.block_from,
        config.groups,
        " and private chats" if config.private else "",
    )
    return Moderator(config, book, classifier, make_judge(settings, book, models), db)


async def watch(
    moderator: Moderator,
    settings: Settings,
    models: ModelRegistry,
    on_problem: Problem,
    *,
    debounce_ms: int = 300,
) -> None:
    """Reload the topic files on every change until cancelled; a broken edit keeps the last
    good topics in service and is reported (once per edit)."""
    config = settings.moderation
    last_problem = ""
    async for _changes in awatch(config.topics_dir, debounce=debounce_ms, recursive=False):
        try:
            prepared = await asyncio.to_thread(
                prepare_blocking, config, settings.routing.routes_dir
            )
        except (TopicFileError, OSError) as exc:
            message = str(exc)
            logger.error("moderation: %s (the previous topics stay in service)", message)
            if message != last_problem:
                last_problem = message
                try:
                    await on_problem(message)
                except Exception:  # telling the operators must never stop the watcher
                    logger.exception("moderation: could not report a problem")
            continue
        last_problem = ""
        if prepared is None:
            logger.error("moderation: every topic file is gone; the previous topics stay")
            continue
        book, classifier = prepared
        moderator.replace(book, classifier, make_judge(settings, book, models))
        logger.info("moderation: reloaded topics %s", ", ".join(book.ids))
