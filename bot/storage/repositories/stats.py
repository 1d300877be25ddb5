"""/stats: SQL aggregates over users, messages, route decisions and feedback.

Every query on messages reads one role's window by `(role, created_at)` in
`ix_messages_stats`, which holds every column the queries read: an index-only range scan
on SQLite and PostgreSQL alike, that never touches the rows (whose content makes them
large); route decisions read `ix_route_decisions_created_at_route` the same way. Percentiles
come from a latency histogram (100 ms buckets) that the database groups, so nothing row by
row reaches Python. `python -m bench.stats` times them on a million messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, distinct, func, select
from sqlalchemy.orm import Session

from bot.storage.dto import (
    DailyActivity,
    FeedbackVotes,
    LatencyBucket,
    MessageStatus,
    ModelUsage,
    Role,
    UserCounts,
)
from bot.storage.models import FeedbackRow, MessageRow, RouteDecisionRow, UserRow

LATENCY_BUCKET_MS = 100
_ANSWERS = MessageRow.role == Role.ASSISTANT.value
_QUESTIONS = MessageRow.role == Role.USER.value


class StatsRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _day(self, column: Any) -> ColumnElement[Any]:
        """The UTC calendar day of a moment: a date on PostgreSQL (cheaper to group than
        text), YYYY-MM-DD text on SQLite (which stores UTC moments as text)."""
        if self._session.get_bind().dialect.name == "postgresql":
            return cast(func.timezone("UTC", column), Date)
        return func.date(column)

    def users(self, since: tuple[datetime, datetime, datetime]) -> UserCounts:
        """All users, those new since each moment, and those who wrote since each."""
        day, week, month = since
        new = [
            func.coalesce(func.sum(case((UserRow.created_at >= m, 1), else_=0)), 0) for m in since
        ]
        counts = (self._session.execute(select(func.count(), *new).select_from(UserRow))).one()
        total, new_day, new_week, new_month = (int(value or 0) for value in counts)
        active = [
            func.count(distinct(case((MessageRow.created_at >= m, MessageRow.user_id))))
            for m in (day, week)
        ]
        wrote = (
            self._session.execute(
                select(*active, func.count(distinct(MessageRow.user_id))).where(
                    _QUESTIONS, MessageRow.created_at >= month
                )
            )
        ).one()
        active_day, active_week, active_month = (int(value or 0) for value in wrote)
        return UserCounts(
            int(total),
            (int(new_day), int(new_week), int(new_month)),
            (int(active_day), int(active_week), int(active_month)),
        )

    def models(self, since: datetime) -> list[ModelUsage]:
        """Per model: answers, tokens in and out, pictures generated."""
        rows = self._session.execute(
            select(
                MessageRow.model,
                func.count(),
                func.coalesce(func.sum(MessageRow.input_tokens), 0),
                func.coalesce(func.sum(MessageRow.output_tokens), 0),
                func.coalesce(func.sum(MessageRow.pictures), 0),
            )
            .where(_ANSWERS, MessageRow.created_at >= since)
            .group_by(MessageRow.model)
        )
        return [
            ModelUsage(model or "?", int(n or 0), int(i or 0), int(o or 0), int(p or 0))
            for model, n, i, o, p in rows
        ]

    def errors(self, since: datetime) -> dict[str, int]:
        """Answers that ended in an error, by kind (stopped by the user included)."""
        rows = self._session.execute(
            select(MessageRow.error, func.count())
            .where(_ANSWERS, MessageRow.created_at >= since, MessageRow.error.is_not(None))
            .group_by(MessageRow.error)
        )
        return {str(kind): int(n) for kind, n in rows}

    def latency(self, since: datetime) -> list[LatencyBucket]:
        """Complete answers per model and 100 ms latency bucket."""
        # Floor division on both (SQLAlchemy 2 makes `/` true division, which PostgreSQL
        # would round to the nearer bucket).
        bucket = MessageRow.latency_ms // LATENCY_BUCKET_MS
        rows = self._session.execute(
            select(MessageRow.model, bucket, func.count())
            .where(
                _ANSWERS,
                MessageRow.created_at >= since,
                MessageRow.status == MessageStatus.COMPLETE.value,
                MessageRow.latency_ms.is_not(None),
            )
            .group_by(MessageRow.model, bucket)
        )
        return [
            LatencyBucket(model or "?", int(b or 0) * LATENCY_BUCKET_MS, int(n))
            for model, b, n in rows
        ]

    def routes(self, since: datetime) -> dict[str, int]:
        rows = self._session.execute(
            select(RouteDecisionRow.route, func.count())
            .where(RouteDecisionRow.created_at >= since)
            .group_by(RouteDecisionRow.route)
        )
        return {str(route): int(n) for route, n in rows}

    def feedback(self, since: datetime) -> list[FeedbackVotes]:
        """👍 and 👎 given since `since`, per model and character of the answer (one pass:
        the service sums them per model and per character)."""
        rows = self._session.execute(
            select(
                MessageRow.model,
                MessageRow.character_id,
                func.coalesce(func.sum(case((FeedbackRow.value > 0, 1), else_=0)), 0),
                func.coalesce(func.sum(case((FeedbackRow.value < 0, 1), else_=0)), 0),
            )
            .join(MessageRow, MessageRow.id == FeedbackRow.message_id)
            .where(FeedbackRow.created_at >= since)
            .group_by(MessageRow.model, MessageRow.character_id)
        )
        return [
            FeedbackVotes(model or "?", character, int(up), int(down))
            for model, character, up, down in rows
        ]

    def pictures_received(self, since: datetime) -> int:
        value = self._session.scalar(
            select(func.coalesce(func.sum(MessageRow.pictures), 0)).where(
                _QUESTIONS, MessageRow.created_at >= since
            )
        )
        return int(value or 0)

    def daily(self, since: datetime) -> list[DailyActivity]:
        """Per UTC day: questions, users who asked, answers and their tokens."""
        day = self._day(MessageRow.created_at)
        asked = self._session.execute(
            select(day, func.count(), func.count(distinct(MessageRow.user_id)))
            .where(_QUESTIONS, MessageRow.created_at >= since)
            .group_by(day)
        )
        answered = self._session.execute(
            select(
                day,
                func.count(),
                func.coalesce(func.sum(MessageRow.input_tokens + MessageRow.output_tokens), 0),
            )
            .where(_ANSWERS, MessageRow.created_at >= since)
            .group_by(day)
        )
        days: dict[str, list[int]] = {}
        for name, questions, users in asked:
            days.setdefault(str(name), [0, 0, 0, 0])[0:2] = [int(questions), int(users)]
        for name, answers, tokens in answered:
            days.setdefault(str(name), [0, 0, 0, 0])[2:4] = [int(answers), int(tokens or 0)]
        return [DailyActivity(name, *values) for name, values in sorted(days.items())]
