"""`python -m bot routes check|calibrate|eval|export`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import RoutingConfig, Settings, read_environment
from bot.routing.calibration import CalibrationError, calibrate
from bot.routing.classifier import load_or_train
from bot.routing.evaluate import decide_all, read_examples, render, report
from bot.routing.router import Router
from bot.routing.routes import RouteBook, RouteFileError, check_tool_servers, load_routes
from bot.routing.service import reference_problems
from bot.routing.setup import current_calibration, judge_model, stored_calibration
from bot.textclass.evaluation import EvalDataError

SettingsLoader = Callable[[], Settings]


class ExportError(RuntimeError):
    pass


def run(args: argparse.Namespace, settings: SettingsLoader, config_exists: bool) -> int:
    """`settings` loads the full configuration (for commands that need models or storage)."""
    try:
        routing = settings().routing if config_exists else RoutingConfig()
        command = args.routes_command
        if command == "check":
            return _check(routing)
        if command == "calibrate":
            return _calibrate(routing, args.folds, args.confidence)
        if command == "eval":
            return asyncio.run(_eval(args, routing, None if args.local_only else settings))
        return asyncio.run(_export(settings(), args.output, args.stage or ["judge"]))
    except (RouteFileError, CalibrationError, EvalDataError, ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def check_summary(settings: Settings) -> list[str]:
    """Lines for `check-config`: the route files, their calibration, unknown model ids."""
    routing = settings.routing
    if not routing.enabled:
        return ["routing: off"]
    book = load_routes(routing.routes_dir, default=routing.default_route)
    check_tool_servers(book, settings.mcp.servers)
    lines = [
        f"routes: {', '.join(book.ids)} ({routing.routes_dir}); {_calibration_state(book, routing)}"
    ]
    problems = reference_problems(book, routing.preferred_models, settings.chat_model_ids)
    lines += [f"warning: {problem}" for problem in problems]
    return lines


def _calibration_state(book: RouteBook, routing: RoutingConfig) -> str:
    if stored_calibration(book, routing) is not None:
        return "calibration up to date"
    return "calibration missing or stale: run `python -m bot routes calibrate`"


def _check(routing: RoutingConfig) -> int:
    book = load_routes(routing.routes_dir, default=routing.default_route)
    for route in book.routes.values():
        counts = ", ".join(f"{lang} {len(texts)}" for lang, texts in route.examples.items())
        print(f"{route.id:<12} examples: {counts}; prefers: {', '.join(route.preferred_models)}")
    print(f"{routing.calibration_path}: {_calibration_state(book, routing)}")
    return 0


def _calibrate(routing: RoutingConfig, folds: int, confidence: float) -> int:
    book = load_routes(routing.routes_dir, default=routing.default_route)
    calibration = calibrate(book, folds=folds, confidence=confidence)
    calibration.save(routing.calibration_path)
    print(
        f"{'route':<12} {'target':>6} {'threshold':>9} {'decided':>11} {'errors':>6} {'bound':>6}"
    )
    for route_id, entry in calibration.routes.items():
        threshold = "never" if entry.threshold > 1 else f"{entry.threshold:.3f}"
        print(
            f"{route_id:<12} {book[route_id].error_target:>6.2f} {threshold:>9} "
            f"{entry.decided:>4}/{entry.predicted:<6} {entry.errors:>6} {entry.error_bound:>6.3f}"
        )
    print(f"written to {routing.calibration_path}")
    return 0


async def _eval(
    args: argparse.Namespace, routing: RoutingConfig, settings: SettingsLoader | None
) -> int:
    book = load_routes(routing.routes_dir, default=routing.default_route)
    examples = read_examples(args.data, book.ids)
    classifier, calibration = await asyncio.to_thread(
        lambda: (load_or_train(book, routing.cache_dir), current_calibration(book, routing))
    )
    registry = None
    judge = None
    if settings is not None:
        from bot.llm.registry import build_registry
        from bot.routing.judge import LLMJudge

        loaded = settings()
        registry = build_registry(loaded, read_environment(Path(".env")))
        judge = LLMJudge(judge_model(routing, registry), book, routing.judge_timeout_seconds)
    router = Router(
        book, classifier, calibration, judge, followup_max_words=routing.followup_max_words
    )
    try:
        decisions = await decide_all(router, examples, use_judge=judge is not None)
    finally:
        if registry is not None:
            await registry.close()
    result = report(examples, decisions, book.ids)
    print(json.dumps(result, ensure_ascii=False) if args.json else render(result))
    return 0


async def _export(settings: Settings, output: Path | None, stages: list[str]) -> int:
    from bot.storage.database import open_database
    from bot.storage.migrate import current_revision, head_revision

    db = open_database(settings.storage.url)
    try:
        # An export reads; it never migrates a production database behind the operator's back.
        if await current_revision(db) != head_revision():
            raise ExportError(
                f"{settings.storage.url}: the database is not at the current schema; run "
                "`python -m bot migrate` (or start the bot once) first"
            )
        rows = await db.read(lambda uow: uow.decisions.labelled(stages))
    finally:
        await db.close()
    lines = [
        json.dumps(
            {
                "text": row.text,
                "route": row.route,
                "stage": row.stage,
                "confidence": round(row.confidence, 4),
                "created_at": row.created_at.isoformat() if row.created_at else None,
            },
            ensure_ascii=False,
        )
        for row in rows
    ]
    body = "".join(f"{line}\n" for line in lines)
    if output is None:
        sys.stdout.write(body)
    else:
        await asyncio.to_thread(output.write_text, body, encoding="utf-8")
        print(f"{len(lines)} messages written to {output}", file=sys.stderr)
    return 0
