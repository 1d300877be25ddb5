"""The report behind /stats: the repository's aggregates, joined with what only the
configuration knows (each model's name, provider and prices)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from bot.llm.spec import ModelSpec
from bot.storage.database import Database
from bot.storage.dto import (
    DailyActivity,
    FeedbackCount,
    FeedbackVotes,
    LatencyBucket,
    ModelUsage,
    UserCounts,
)
from bot.storage.repositories.stats import LATENCY_BUCKET_MS
from bot.storage.uow import UnitOfWork

CHART_DAYS = 30
MILLION = Decimal(1_000_000)
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class ModelLine:
    model: str
    name: str
    provider: str
    answers: int
    input_tokens: int
    output_tokens: int
    cost: Decimal
    pictures: int
    p50_ms: int | None = None
    p95_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderLine:
    provider: str
    answers: int
    tokens: int
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Report:
    days: int
    users: UserCounts
    models: list[ModelLine]
    providers: list[ProviderLine]
    routes: dict[str, int]
    errors: dict[str, int]
    feedback_models: list[FeedbackCount]
    feedback_characters: list[FeedbackCount]
    pictures_received: int
    daily: list[DailyActivity] = field(default_factory=list)
    seconds: float = 0.0  # how long the queries took


class _Aggregates(NamedTuple):
    users: UserCounts
    models: list[ModelUsage]
    latency: list[LatencyBucket]
    routes: dict[str, int]
    errors: dict[str, int]
    feedback: list[FeedbackVotes]
    pictures_received: int
    daily: list[DailyActivity]


class StatsService:
    def __init__(self, db: Database, specs: Iterable[ModelSpec], clock: Clock) -> None:
        self._db = db
        self._specs = {spec.id: spec for spec in specs}
        self._now = clock

    async def report(self, days: int = 30) -> Report:
        now = self._now()
        since = now - timedelta(days=days)
        windows = (now - timedelta(days=1), now - timedelta(days=7), now - timedelta(days=30))
        start = time.perf_counter()

        def read(uow: UnitOfWork) -> _Aggregates:
            stats = uow.stats
            return _Aggregates(
                stats.users(windows),
                stats.models(since),
                stats.latency(since),
                stats.routes(since),
                stats.errors(since),
                stats.feedback(since),
                stats.pictures_received(since),
                stats.daily(now - timedelta(days=CHART_DAYS)),
            )

        # One read transaction on a reader thread: one consistent snapshot, and the heavy
        # aggregates never hold up the event loop or the writer.
        users, usage, latency, routes, errors, votes, received, daily = await self._db.read(read)
        seconds = time.perf_counter() - start
        percentiles = latency_percentiles(latency)
        models = sorted(
            (self._line(u, percentiles.get(u.model)) for u in usage),
            key=lambda m: (-m.answers, m.name),
        )
        return Report(
            days=days,
            users=users,
            models=models,
            providers=_providers(models),
            routes=routes,
            errors=errors,
            feedback_models=_votes_by(votes, lambda v: self._name(v.model)),
            feedback_characters=_votes_by(votes, lambda v: v.character_id),
            pictures_received=received,
            daily=_fill_days(daily, now, CHART_DAYS),
            seconds=seconds,
        )

    def _name(self, model: str) -> str:
        spec = self._specs.get(model)
        return spec.display_name if spec else model

    def _line(self, usage: ModelUsage, percentiles: tuple[int, int] | None) -> ModelLine:
        spec = self._specs.get(usage.model)
        p50, p95 = percentiles or (None, None)
        cost = Decimal(0)
        if spec is not None:
            prices = (spec.input_price_per_million, spec.output_price_per_million)
            cost = (prices[0] * usage.input_tokens + prices[1] * usage.output_tokens) / MILLION
        return ModelLine(
            model=usage.model,
            name=spec.display_name if spec else usage.model,
            provider=spec.provider if spec else "?",  # a model no longer configured
            answers=usage.answers,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost=cost,
            pictures=usage.pictures,
            p50_ms=p50,
            p95_ms=p95,
        )


def latency_percentiles(buckets: Iterable[LatencyBucket]) -> dict[str, tuple[int, int]]:
    """p50 and p95 per model (ms, the middle of the bucket the percentile falls in)."""
    per_model: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for bucket in buckets:
        per_model[bucket.model].append((bucket.floor_ms, bucket.count))
    result = {}
    for model, counts in per_model.items():
        counts.sort()
        total = sum(n for _, n in counts)
        result[model] = (_percentile(counts, total, 0.50), _percentile(counts, total, 0.95))
    return result


def _percentile(counts: list[tuple[int, int]], total: int, share: float) -> int:
    seen = 0
    for floor, n in counts:
        seen += n
        if seen >= share * total:
            return floor + LATENCY_BUCKET_MS // 2
    return counts[-1][0] + LATENCY_BUCKET_MS // 2


def _providers(models: list[ModelLine]) -> list[ProviderLine]:
    answers: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    cost: defaultdict[str, Decimal] = defaultdict(Decimal)
    for line in models:
        answers[line.provider] += line.answers
        tokens[line.provider] += line.input_tokens + line.output_tokens
        cost[line.provider] += line.cost
    lines = (ProviderLine(p, answers[p], tokens[p], cost[p]) for p in answers)
    return sorted(lines, key=lambda line: (-line.answers, line.provider))


def _votes_by(
    votes: Iterable[FeedbackVotes], key: Callable[[FeedbackVotes], str | None]
) -> list[FeedbackCount]:
    """Votes summed per model or per character (None: answers without a character)."""
    totals: dict[str | None, tuple[int, int]] = {}
    for vote in votes:
        up, down = totals.get(key(vote), (0, 0))
        totals[key(vote)] = (up + vote.up, down + vote.down)
    return [FeedbackCount(k, up, down) for k, (up, down) in totals.items()]


def _fill_days(daily: list[DailyActivity], now: datetime, days: int) -> list[DailyActivity]:
    """Every day of the window, days without activity as zeros (the chart's x axis)."""
    known = {d.day: d for d in daily}
    result = []
    for offset in range(days - 1, -1, -1):
        day = (now - timedelta(days=offset)).strftime("%Y-%m-%d")
        result.append(known.get(day, DailyActivity(day, 0, 0, 0, 0)))
    return result
