"""How long /stats takes on a big database: `python -m bench.stats [--messages N] [--url URL]`.

Generates N messages (half questions, half answers; default 1,000,000) over 60 days from
20,000 users, with a route decision per question and feedback on 5% of answers, into a fresh
database migrated by Alembic (SQLite in a temporary folder by default; a PostgreSQL URL works
too and is emptied first: use a database of its own), then times each of the report's queries
and the whole StatsService.report() (the median of --runs runs each, after one warm-up).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, text

from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.stats.service import CHART_DAYS, StatsService
from bot.storage.database import AsyncDatabase, Database, open_database
from bot.storage.migrate import upgrade
from bot.storage.models import (
    ChatRow,
    ConversationRow,
    FeedbackRow,
    MessageRow,
    RouteDecisionRow,
    UserRow,
)
from bot.storage.repositories.stats import StatsRepository
from bot.storage.uow import UnitOfWork

USERS = 20_000
DAYS = 60
MODELS = ("gpt", "claude", "gemma", "qwen")
ROUTES = ("chat", "code", "math", "translate", "writing", "image", "search")
ERRORS = ("timeout", "rate_limited", "stopped", "unavailable")
CHARACTERS = (None, "pirate", "tutor")
CHUNK = 20_000  # messages per insert transaction
FEEDBACK_SHARE = 0.05
QUESTION = [{"type": "text", "text": "a question of some length, as people write them"}]
ANSWER = [{"type": "text", "text": "an answer " * 40}]
# Every message row names every column: an executemany takes the keys of the first row.
MESSAGE_DEFAULTS: dict[str, Any] = {
    "user_id": None,
    "model": None,
    "input_tokens": None,
    "output_tokens": None,
    "telegram_message_ids": [],
    "status": "complete",
    "error": None,
    "latency_ms": None,
    "character_id": None,
    "pictures": 0,
}


def _empty(connection: Connection) -> None:
    connection.execute(text("DROP SCHEMA public CASCADE"))
    connection.execute(text("CREATE SCHEMA public"))


async def _reset(db: Database) -> None:
    """An empty schema, migrated to the head."""
    if db.dialect == "postgresql":
        await db.run_connection(_empty)
    await upgrade(db)


def _people(connection: Connection, now: datetime, rng: random.Random) -> None:
    ids = range(1, USERS + 1)
    connection.execute(
        insert(UserRow),
        [
            {
                "id": u,
                "first_name": "U",
                "created_at": now - timedelta(days=rng.uniform(0, 90)),
                "updated_at": now,
            }
            for u in ids
        ],
    )
    connection.execute(
        insert(ChatRow),
        [{"id": u, "type": "private", "created_at": now, "updated_at": now} for u in ids],
    )
    connection.execute(
        insert(ConversationRow), [{"id": u, "chat_id": u, "started_at": now} for u in ids]
    )


def _turn(
    rng: random.Random, now: datetime, question_id: int
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any] | None]:
    """One question and its answer, the question's route decision and perhaps a vote."""
    user = rng.randint(1, USERS)
    at = now - timedelta(seconds=rng.uniform(0, DAYS * 86_400))
    model = rng.choice(MODELS)
    error = rng.choice(ERRORS) if rng.random() < 0.03 else None
    question = MESSAGE_DEFAULTS | {
        "id": question_id,
        "conversation_id": user,
        "user_id": user,
        "role": "user",
        "content": QUESTION,
        "pictures": int(rng.random() < 0.03),
        "created_at": at,
    }
    answer = MESSAGE_DEFAULTS | {
        "id": question_id + 1,
        "conversation_id": user,
        "role": "assistant",
        "content": ANSWER,
        "model": model,
        "input_tokens": rng.randint(50, 4000),
        "output_tokens": rng.randint(20, 800),
        "status": "failed" if error else "complete",
        "error": error,
        "latency_ms": int(rng.lognormvariate(7.5, 0.6)),
        "pictures": int(rng.random() < 0.01),
        "character_id": rng.choice(CHARACTERS),
        "created_at": at + timedelta(seconds=2),
    }
    decision = {
        "message_id": question_id,
        "chat_id": user,
        "route": rng.choice(ROUTES),
        "stage": "local",
        "confidence": 0.9,
        "latency_ms": 2.0,
        "model": model,
        "created_at": at,
    }
    vote = None
    if rng.random() < FEEDBACK_SHARE:
        vote = {
            "message_id": question_id + 1,
            "user_id": user,
            "value": rng.choice((1, 1, 1, -1)),
            "created_at": at + timedelta(seconds=30),
        }
    return [question, answer], decision, vote


async def generate(url: str, messages: int) -> None:
    db = open_database(url)
    await _reset(db)
    rng = random.Random(19)
    now = datetime.now(UTC)
    await db.run_connection(lambda connection: _people(connection, now, rng))
    turns = messages // 2
    for start in range(0, turns, CHUNK // 2):
        rows: list[dict[str, Any]] = []
        decisions, votes = [], []
        for n in range(start, min(start + CHUNK // 2, turns)):
            pair, decision, vote = _turn(rng, now, 2 * n + 1)
            rows += pair
            decisions.append(decision)
            if vote is not None:
                votes.append(vote)
        await db.run_connection(partial(_insert, rows, decisions, votes))
    await _analyze(db)
    await db.close()


def _insert(
    rows: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
    votes: list[dict[str, Any]],
    connection: Connection,
) -> None:
    connection.execute(insert(MessageRow), rows)
    connection.execute(insert(RouteDecisionRow), decisions)
    if votes:
        connection.execute(insert(FeedbackRow), votes)


async def _analyze(db: Database) -> None:
    """Planner statistics, as a running database has them (and on PostgreSQL the visibility
    map that autovacuum keeps, which index-only scans need)."""
    if isinstance(db, AsyncDatabase):
        autocommit = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as connection:
            await connection.execute(text("VACUUM ANALYZE"))
        return
    await db.run_connection(lambda connection: connection.execute(text("ANALYZE")))


def _queries(now: datetime) -> dict[str, Callable[[StatsRepository], object]]:
    """The report's queries, as StatsService.report() runs them (a 30-day report)."""
    since = now - timedelta(days=30)
    windows = (now - timedelta(days=1), now - timedelta(days=7), since)
    chart = now - timedelta(days=CHART_DAYS)
    return {
        "users (total, new, active)": lambda r: r.users(windows),
        "per model (answers, tokens, pictures)": lambda r: r.models(since),
        "latency histogram (p50/p95)": lambda r: r.latency(since),
        "route mix": lambda r: r.routes(since),
        "errors by kind": lambda r: r.errors(since),
        "feedback per model and character": lambda r: r.feedback(since),
        "pictures received": lambda r: r.pictures_received(since),
        "daily activity (30 days)": lambda r: r.daily(chart),
    }


async def measure(url: str, runs: int) -> tuple[dict[str, float], float]:
    """Median seconds per query and for the whole report (after one warm-up run)."""
    db = open_database(url)
    caps = ModelCapabilities(False, False, True, False, 8192, 1024)
    specs = [ModelSpec(m, m, "p", m, caps) for m in MODELS]
    service = StatsService(db, specs, lambda: datetime.now(UTC))
    await service.report(30)  # warm-up: the OS cache and the connection pool
    per_query: dict[str, list[float]] = {}
    totals = []

    def timed(unit: UnitOfWork) -> None:
        for name, query in _queries(datetime.now(UTC)).items():
            start = time.perf_counter()
            query(unit.stats)
            per_query.setdefault(name, []).append(time.perf_counter() - start)

    for _ in range(runs):
        await db.read(timed)
        totals.append((await service.report(30)).seconds)
    await db.close()
    medians = {name: statistics.median(times) for name, times in per_query.items()}
    return medians, statistics.median(totals)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--url", default=None, help="a database URL (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'stats.sqlite3'}"
        backend = url.split(":", 1)[0]
        start = time.perf_counter()
        asyncio.run(generate(url, args.messages))
        print(f"generated {args.messages:,} messages in {time.perf_counter() - start:.0f} s")
        per_query, total = asyncio.run(measure(url, args.runs))
        print(f"/stats on {args.messages:,} messages ({backend}; median of {args.runs} runs):")
        for name, seconds in per_query.items():
            print(f"  {name:<40} {seconds * 1000:8.1f} ms")
        print(f"  {'whole report (StatsService.report)':<40} {total * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
