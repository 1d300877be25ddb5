"""/stats on a real migrated SQLite file: the repository's aggregates over a known set of
users, questions, answers, route decisions and votes (old ones outside the window), the
report joined with the configured models' prices, and the percentiles of the histogram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from bot.i18n import I18n
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.stats.render import report_text
from bot.stats.service import CHART_DAYS, StatsService, latency_percentiles
from bot.storage.database import Database, SQLiteDatabase
from bot.storage.dto import (
    DailyActivity,
    FeedbackCount,
    FeedbackVotes,
    LatencyBucket,
    ModelUsage,
    UserCounts,
)
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
from tests.unit.payments_fixtures import (
    FakeClock,
    migrated_database,
)

LOCALES = Path(__file__).parents[2] / "locales"
NOW = datetime(2026, 12, 14, 12, 0, tzinfo=UTC)
MONTH = NOW - timedelta(days=30)
WINDOWS = (NOW - timedelta(days=1), NOW - timedelta(days=7), MONTH)
CAPS = ModelCapabilities(False, False, True, False, 8192, 1024)
SPECS = [
    ModelSpec("gpt", "GPT", "openai", "gpt-x", CAPS, Decimal("2.50"), Decimal("10")),
    ModelSpec("claude", "Claude", "anthropic", "claude-x", CAPS, Decimal(3), Decimal(15)),
    ModelSpec("mini", "Mini", "openai", "mini-x", CAPS, Decimal(1), Decimal(1)),
]


@pytest.fixture
async def db(template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(template, tmp_path) as database:
        await seed(database)
        yield database


def _ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def _answer(
    conversation: int, at: datetime, model: str, tokens_in: int, tokens_out: int, **fields: Any
) -> MessageRow:
    """An answer 5 s after its question, complete unless `fields` say otherwise."""
    return MessageRow(
        conversation_id=conversation,
        role="assistant",
        content=[],
        model=model,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        created_at=at + timedelta(seconds=5),
        **({"status": "complete"} | fields),
    )


async def seed(db: Database) -> None:
    """Three users (one older than the window), their questions and answers, one of each
    from 40 days ago that no aggregate may count."""
    await db.write(lambda uow: _seed(uow.session))


def _seed(session: Session) -> None:
    for user, created in ((1, _ago(days=40)), (2, _ago(days=3)), (3, _ago(hours=2))):
        session.add(UserRow(id=user, first_name="U", created_at=created))
        session.add(ChatRow(id=user, type="private"))
        session.add(ConversationRow(id=user, chat_id=user))
    session.flush()
    questions = [
        # user, when, route, pictures attached
        (1, _ago(days=40), "chat", 5),
        (1, _ago(days=20), "chat", 0),
        (1, _ago(hours=2), "code", 0),
        (2, _ago(days=3), "chat", 2),
        (3, _ago(hours=1), "math", 0),
    ]
    rows = [
        MessageRow(conversation_id=u, user_id=u, role="user", content=[], created_at=at, pictures=p)
        for u, at, _, p in questions
    ]
    session.add_all(rows)
    session.flush()
    for row, (u, at, route, _) in zip(rows, questions, strict=True):
        session.add(
            RouteDecisionRow(
                message_id=row.id,
                chat_id=u,
                route=route,
                stage="rules",
                confidence=1.0,
                latency_ms=1.0,
                created_at=at,
            )
        )
    answers = [
        _answer(1, _ago(days=40), "gpt", 9_999, 9_999, latency_ms=99_000, error="timeout"),
        _answer(1, _ago(days=20), "gpt", 100_000, 50_000, latency_ms=1_250, character_id="pirate"),
        _answer(1, _ago(hours=2), "gpt", 200_000, 100_000, latency_ms=3_420, pictures=1),
        _answer(
            2,
            _ago(days=3),
            "claude",
            10,
            0,
            status="failed",
            error="timeout",
            latency_ms=30_000,
        ),
        _answer(3, _ago(hours=1), "claude", 1_000_000, 30, latency_ms=800, character_id="pirate"),
        _answer(3, _ago(hours=1), "retired", 5, 5, status="interrupted", error="stopped"),
    ]
    session.add_all(answers)
    session.flush()
    votes = [(answers[0], 1, _ago(days=35)), (answers[1], 1, _ago(days=19))]
    votes += [(answers[2], -1, _ago(hours=1)), (answers[4], 1, _ago(minutes=30))]
    for answer, value, at in votes:
        session.add(FeedbackRow(message_id=answer.id, user_id=1, value=value, created_at=at))


async def test_the_repository_counts_only_the_window(db: Database) -> None:
    await db.read(_check_the_window)


def _check_the_window(uow: UnitOfWork) -> None:
    repo = StatsRepository(uow.session)
    assert repo.users(WINDOWS) == UserCounts(3, (1, 2, 2), (2, 3, 3))
    models = sorted(repo.models(MONTH), key=lambda m: m.model)
    assert models == [
        ModelUsage("claude", 2, 1_000_010, 30, 0),
        ModelUsage("gpt", 2, 300_000, 150_000, 1),
        ModelUsage("retired", 1, 5, 5, 0),
    ]
    assert repo.errors(MONTH) == {"timeout": 1, "stopped": 1}
    # Complete answers only: the failed one (30 s) and the stopped one are left out.
    assert sorted(repo.latency(MONTH), key=lambda b: b.floor_ms) == [
        LatencyBucket("claude", 800, 1),
        LatencyBucket("gpt", 1_200, 1),
        LatencyBucket("gpt", 3_400, 1),
    ]
    assert repo.routes(MONTH) == {"chat": 2, "code": 1, "math": 1}
    assert sorted(repo.feedback(MONTH), key=lambda v: (v.model, -v.up)) == [
        FeedbackVotes("claude", "pirate", 1, 0),
        FeedbackVotes("gpt", "pirate", 1, 0),
        FeedbackVotes("gpt", None, 0, 1),
    ]
    assert repo.pictures_received(MONTH) == 2
    daily = repo.daily(MONTH)
    assert daily == [
        DailyActivity(_ago(days=20).strftime("%Y-%m-%d"), 1, 1, 1, 150_000),
        DailyActivity(_ago(days=3).strftime("%Y-%m-%d"), 1, 1, 1, 10),
        DailyActivity(NOW.strftime("%Y-%m-%d"), 2, 2, 3, 1_300_040),
    ]


async def test_every_query_on_messages_reads_the_stats_index_not_the_rows(db: Database) -> None:
    """SQLite's plans for the statements the report runs: an index range, never a scan of
    the messages (whose content makes them large)."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "messages" in statement:
            statements.append((statement, parameters))

    assert isinstance(db, SQLiteDatabase)
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        await StatsService(db, SPECS, FakeClock(NOW)).report(30)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)

    def explain(connection: Connection) -> list[str]:
        plans = []
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(" | ".join(str(row[-1]) for row in rows))
        return plans

    plans = await db.run_connection(explain)
    by_role = [p for p, (s, _) in zip(plans, statements, strict=True) if "messages.role" in s]
    assert len(by_role) == 7  # active users, models, errors, latency, pictures, daily x2
    for plan in by_role:
        assert "USING COVERING INDEX ix_messages_stats (role=? AND created_at>?)" in plan, plan
    assert all("SCAN messages" not in plan for plan in plans), plans


async def test_the_report_prices_each_model_and_provider(db: Database) -> None:
    service = StatsService(db, SPECS, FakeClock(NOW))
    report = await service.report(30)
    models = {line.model: line for line in report.models}
    gpt, claude, retired = models["gpt"], models["claude"], models["retired"]
    assert [line.answers for line in report.models] == [2, 2, 1]  # most answers first
    assert (gpt.name, gpt.provider, gpt.answers) == ("GPT", "openai", 2)
    # 300k in at 2.50 and 150k out at 10 per million.
    assert gpt.cost == Decimal("0.75") + Decimal("1.5")
    assert (gpt.p50_ms, gpt.p95_ms) == (1_250, 3_450)
    assert claude.cost == Decimal("3.00003") + Decimal("0.00045")
    assert (claude.p50_ms, claude.p95_ms) == (850, 850)
    # A model no longer configured: counted, priced at nothing, its provider unknown.
    assert (retired.provider, retired.cost, retired.p50_ms) == ("?", Decimal(0), None)
    providers = {p.provider: (p.answers, p.tokens, p.cost) for p in report.providers}
    assert providers == {
        "openai": (2, 450_000, Decimal("2.25")),
        "anthropic": (2, 1_000_040, Decimal("3.00048")),
        "?": (1, 10, Decimal(0)),
    }
    assert sorted(report.feedback_models, key=lambda f: str(f.key)) == [
        FeedbackCount("Claude", 1, 0),
        FeedbackCount("GPT", 1, 1),
    ]
    assert sorted(report.feedback_characters, key=lambda f: str(f.key)) == [
        FeedbackCount(None, 0, 1),
        FeedbackCount("pirate", 2, 0),
    ]
    assert len(report.daily) == CHART_DAYS
    assert report.daily[-1].day == NOW.strftime("%Y-%m-%d")
    assert report.daily[-1].answers == 3
    assert sum(d.questions for d in report.daily) == 4
    week = await service.report(7)  # the 20-day-old answer falls out
    assert [m.answers for m in week.models] == [2, 1, 1]


async def test_the_report_reads_as_text(db: Database) -> None:
    report = await StatsService(db, SPECS, FakeClock(NOW)).report(30)
    text = report_text(report, I18n(LOCALES, "en").translator("en"))
    assert text.startswith("📊 The last 30 days (UTC; computed in ")
    assert "👥 Users: 3. New: 1 today, 2 in 7 days, 2 in 30 days. Active: 2 today, 3 in 7" in text
    assert "GPT (openai): 2 answers, 300,000 / 150,000 tokens, ~2.25, 1.2 / 3.5 s" in text
    assert "retired (?): 1 answer, 5 / 5 tokens, ~0.00, no timing" in text
    assert "anthropic: 2 answers, 1,000,040 tokens, ~3.00" in text
    assert "🧭 Routes: chat 50%, code 25%, math 25%" in text
    assert "👍/👎 per model: GPT 👍50% 👎50% (2), Claude 👍100% 👎0% (1)" in text
    assert "👍/👎 per character: pirate 👍100% 👎0% (2), no character 👍0% 👎100% (1)" in text
    assert "🖼 Pictures: 2 received, 1 generated" in text


def test_percentiles_come_from_the_histogram() -> None:
    buckets = [
        LatencyBucket("m", 0, 50),
        LatencyBucket("m", 5_000, 5),  # out of order: the database returns any order
        LatencyBucket("m", 1_000, 45),
        LatencyBucket("one", 2_300, 1),
    ]
    assert latency_percentiles(buckets) == {"m": (50, 1_050), "one": (2_350, 2_350)}
    buckets[2] = LatencyBucket("m", 1_000, 44)
    buckets.append(LatencyBucket("m", 5_000, 1))  # now 6 of 100 are slow: p95 moves up
    assert latency_percentiles(buckets)["m"] == (50, 5_050)
    assert latency_percentiles([]) == {}
