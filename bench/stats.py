"""How long /stats takes on a big database: `python -m bench.stats [--messages N] [--url URL]`.

Generates N messages (half questions, half answers; default 1,000,000) over 60 days from
20,000 users, with route decisions and feedback, into a fresh database migrated by Alembic
(SQLite in a temporary folder by default; a PostgreSQL URL works too and is emptied first),
then times StatsService.report() three times and prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.stats.service import StatsService
from bot.storage.engine import create_engine, create_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import (
    Base,
    ChatRow,
    ConversationRow,
    FeedbackRow,
    MessageRow,
    RouteDecisionRow,
    UserRow,
)
from bot.storage.uow import UnitOfWorkFactory

USERS = 20_000
MODELS = ("gpt", "claude", "gemma", "qwen")
ROUTES = ("chat", "code", "math", "translate", "writing", "image", "search")
ERRORS = ("timeout", "rate_limited", "stopped", "unavailable")
CHUNK = 20_000


async def generate(url: str, messages: int) -> None:
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await upgrade(engine)
    rng = random.Random(19)
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        users = [
            {
                "id": u,
                "first_name": "U",
                "created_at": now - timedelta(days=rng.uniform(0, 90)),
                "updated_at": now,
            }
            for u in range(1, USERS + 1)
        ]
        await connection.execute(insert(UserRow), users)
        chats = [
            {"id": u, "type": "private", "created_at": now, "updated_at": now}
            for u in range(1, USERS + 1)
        ]
        await connection.execute(insert(ChatRow), chats)
        await connection.execute(
            insert(ConversationRow),
            [{"id": u, "chat_id": u, "started_at": now} for u in range(1, USERS + 1)],
        )
    next_id = 1
    for start in range(0, messages // 2, CHUNK // 2):
        rows, decisions, votes = [], [], []
        for _ in range(min(CHUNK // 2, messages // 2 - start)):
            user = rng.randint(1, USERS)
            at = now - timedelta(seconds=rng.uniform(0, 60 * 86_400))
            model = rng.choice(MODELS)
            rows.append(
                {
                    "id": next_id,
                    "conversation_id": user,
                    "user_id": user,
                    "role": "user",
                    "content": [{"type": "text", "text": "a question of some length"}],
                    "status": "complete",
                    "pictures": int(rng.random() < 0.03),
                    "telegram_message_ids": [],
                    "created_at": at,
                }
            )
            error = rng.choice(ERRORS) if rng.random() < 0.03 else None
            rows.append(
                {
                    "id": next_id + 1,
                    "conversation_id": user,
                    "role": "assistant",
                    "content": [{"type": "text", "text": "an answer " * 40}],
                    "model": model,
                    "input_tokens": rng.randint(50, 4000),
                    "output_tokens": rng.randint(20, 800),
                    "status": "failed" if error else "complete",
                    "error": error,
                    "latency_ms": int(rng.lognormvariate(7.5, 0.6)),
                    "pictures": 0,
                    "character_id": rng.choice((None, "pirate", "tutor")),
                    "telegram_message_ids": [],
                    "created_at": at,
                }
            )
            decisions.append(
                {
                    "message_id": next_id,
                    "chat_id": user,
                    "route": rng.choice(ROUTES),
                    "stage": "local",
                    "confidence": 0.9,
                    "latency_ms": 2.0,
                    "model": model,
                    "created_at": at,
                }
            )
            if rng.random() < 0.05:
                votes.append(
                    {
                        "message_id": next_id + 1,
                        "user_id": user,
                        "value": rng.choice((1, 1, 1, -1)),
                        "created_at": at,
                    }
                )
            next_id += 2
        async with engine.begin() as connection:
            await connection.execute(insert(MessageRow), rows)
            await connection.execute(insert(RouteDecisionRow), decisions)
            if votes:
                await connection.execute(insert(FeedbackRow), votes)
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(url: str) -> list[float]:
    engine = create_engine(url)
    caps = ModelCapabilities(False, False, True, False, 8192, 1024)
    specs = [ModelSpec(m, m, "p", m, caps) for m in MODELS]
    service = StatsService(
        UnitOfWorkFactory(create_session_factory(engine)), specs, lambda: datetime.now(UTC)
    )
    times = []
    for _ in range(3):
        report = await service.report(30)
        times.append(report.seconds)
    await engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument(
        "--url", default=None, help="a database URL (default: SQLite in a temp dir)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'stats.sqlite3'}"
        start = time.perf_counter()
        asyncio.run(generate(url, args.messages))
        print(f"generated {args.messages:,} messages in {time.perf_counter() - start:.0f} s")
        times = asyncio.run(measure(url))
        print(
            f"/stats report ({url.split(':', 1)[0]}): "
            + ", ".join(f"{t * 1000:.0f} ms" for t in times)
        )


if __name__ == "__main__":
    main()
