"""`python -m bot moderation check|eval`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings, read_environment
from bot.moderation.config import ModerationConfig
from bot.moderation.evaluate import decide_all, read_examples, render, report
from bot.moderation.service import Moderator
from bot.moderation.setup import make_judge, prepare
from bot.moderation.topics import TopicFileError, load_topics
from bot.routing.routes import RouteFileError
from bot.textclass.evaluation import EvalDataError

SettingsLoader = Callable[[], Settings]


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    moderation = sub.add_parser("moderation", parents=[common], help="the content filter")
    commands = moderation.add_subparsers(dest="moderation_command", required=True)
    commands.add_parser("check", parents=[common], help="validate the topic files")
    ev = commands.add_parser("eval", parents=[common], help="measure the filter on labelled data")
    ev.add_argument("--data", type=Path, required=True, help='JSONL: {"text": ..., "label": ...}')
    ev.add_argument("--local-only", action="store_true", help="skip the LLM judge")
    ev.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace, settings: SettingsLoader, config_exists: bool) -> int:
    try:
        loaded = settings() if config_exists else None
        config = loaded.moderation if loaded else ModerationConfig()
        routes_dir = loaded.routing.routes_dir if loaded else None
        if args.moderation_command == "check":
            return _check(config)
        judged = None if args.local_only or loaded is None else loaded
        return asyncio.run(_eval(args, config, routes_dir, judged))
    except (TopicFileError, RouteFileError, EvalDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _check(config: ModerationConfig) -> int:
    book = load_topics(config.topics_dir)
    for topic in book.topics.values():
        counts = ", ".join(f"{lang} {len(texts)}" for lang, texts in topic.examples.items())
        allowed = sum(len(texts) for texts in topic.allowed.values())
        print(f"{topic.id:<16} examples: {counts}; allowed (near misses): {allowed}")
    if not book:
        print(f"{config.topics_dir}: no topic files: the filter would check nothing")
    state = "on" if config.enabled else "off (moderation.enabled = false)"
    print(f"content filter: {state}")
    return 0


async def _eval(
    args: argparse.Namespace,
    config: ModerationConfig,
    routes_dir: Path | None,
    settings: Settings | None,
) -> int:
    examples = read_examples(args.data)
    book, classifier = await asyncio.to_thread(prepare, config, routes_dir or _shipped_routes())
    if not book:
        raise TopicFileError(f"{config.topics_dir}: no topic files to evaluate")
    registry = None
    judge = None
    if settings is not None:
        from bot.llm.registry import build_registry

        registry = build_registry(settings, read_environment(Path(".env")))
        judge = make_judge(settings, book, registry)
    moderator = Moderator(config, book, classifier, judge)
    try:
        decisions = await decide_all(moderator, examples, use_judge=judge is not None)
    finally:
        if registry is not None:
            await registry.close()
    result = report(examples, decisions)
    thresholds = classifier.thresholds
    result["thresholds"] = {
        "allow_below": thresholds.allow_below,
        "block_from": thresholds.block_from,
    }
    result["judge"] = judge.model.spec.id if judge is not None else None
    print(json.dumps(result, ensure_ascii=False) if args.json else render(result))
    return 0


def _shipped_routes() -> Path:
    from bot.config_sections import SHIPPED_ROUTES_DIR

    return SHIPPED_ROUTES_DIR
