"""Quotas: an answer is reserved against the user's limit before the model is called and
settled with the provider-reported usage after it.

Reservations run in a write transaction that serialises the user (SQLite has one writer; an
advisory lock on PostgreSQL), so parallel messages from one user, in any number of chats,
cannot pass a limit together; an answer reserves inside the transaction that stores its
question (`reserve_in`). Limits are per user, also in groups. Windows are rolling: an answer
stops counting `window_hours` after it was reserved. A check counts the window in SQL; the
rows themselves are read only to say when a reached limit frees up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.payments.catalog import AUDIO_BUCKET, AppliedLimit, Catalog, Plan, audio_limit
from bot.payments.config import Limit
from bot.storage.database import Database
from bot.storage.dto import UsageEntry
from bot.storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Reservation:
    usage_id: int
    user_id: int
    bucket: str


class QuotaExceededError(Exception):
    """The user's plan allows no more of this now. `resets_at` is None when the plan does not
    include it at all (a limit of 0)."""

    def __init__(
        self, plan: Plan, subject: str, applied: Limit, resets_at: datetime | None, kind: str
    ) -> None:
        super().__init__(f"{subject}: {kind} limit of plan {plan.id} reached")
        self.plan = plan
        self.subject = subject  # a model id, or the action's name
        self.limit = applied
        self.resets_at = resets_at
        self.kind = kind  # "messages" or "tokens"


@dataclass(frozen=True, slots=True)
class LimitStatus:
    models: tuple[str, ...]
    limit: Limit
    messages_used: int
    tokens_used: int
    # When one more is allowed again if none is left, else when the oldest counted one
    # stops counting (None: nothing counted, or never).
    resets_at: datetime | None

    @property
    def messages_left(self) -> int | None:
        if self.limit.messages is None:
            return None
        return max(0, self.limit.messages - self.messages_used)

    @property
    def tokens_left(self) -> int | None:
        if self.limit.tokens is None:
            return None
        return max(0, self.limit.tokens - self.tokens_used)


class QuotaService:
    def __init__(self, db: Database, catalog: Catalog, clock: Clock = utcnow) -> None:
        self._db = db
        self._catalog = catalog
        self._now = clock

    @property
    def enabled(self) -> bool:
        return self._catalog.enabled

    async def plan_of(self, user_id: int) -> Plan | None:
        now = self._now()
        return await self._db.read(lambda uow: self._plan(uow, user_id, now))

    async def reserve(self, user_id: int, model_id: str) -> Reservation | None:
        """Count one answer of `model_id`; None when the user's plan does not limit it.
        Raises QuotaExceededError (nothing is counted then)."""
        return await self._db.write(lambda uow: self.reserve_in(uow, user_id, model_id))

    async def reserve_action(self, user_id: int, action: str) -> Reservation | None:
        """Count one costly action (`generate_image`); the same rules as answers."""
        return await self._db.write(
            lambda uow: self._reserve(
                uow, user_id, action, lambda plan: self._catalog.action_limit(plan, action)
            )
        )

    async def reserve_audio(self, user_id: int, seconds: int) -> Reservation | None:
        """Count `seconds` of audio; refused (QuotaExceededError, kind "audio") when they would
        pass the plan's minutes. Unlike answers, the amount is known before, so it is exact."""
        if not self._catalog.enabled:
            return None
        now = self._now()

        def reserve(uow: UnitOfWork) -> Reservation | None:
            uow.entitlements.lock_user(user_id)
            plan = self._plan(uow, user_id, now)
            applied = audio_limit(plan) if plan else None
            if plan is None or applied is None:
                return None
            window = timedelta(hours=applied.limit.window_hours)
            used = uow.quota.window(user_id, AUDIO_BUCKET, now - window)
            allowed = applied.limit.tokens or 0
            total = sum(u.tokens for u in used)
            if total + seconds > allowed:
                until = _audio_frees(used, total, seconds, allowed, window)
                raise QuotaExceededError(plan, AUDIO_BUCKET, applied.limit, until, "audio")
            usage_id = uow.quota.add(user_id, AUDIO_BUCKET, now, seconds)
            return Reservation(usage_id, user_id, AUDIO_BUCKET)

        return await self._db.write(reserve)

    def reserve_in(self, uow: UnitOfWork, user_id: int, model_id: str) -> Reservation | None:
        """`reserve` inside the caller's transaction (the one that stores the question)."""
        return self._reserve(
            uow, user_id, model_id, lambda plan: self._catalog.limit_for(plan, model_id)
        )

    def _reserve(
        self,
        uow: UnitOfWork,
        user_id: int,
        subject: str,
        applies: Callable[[Plan], AppliedLimit | None],
    ) -> Reservation | None:
        if not self._catalog.enabled:
            return None
        now = self._now()
        uow.entitlements.lock_user(user_id)
        plan = self._plan(uow, user_id, now)
        applied = applies(plan) if plan else None
        if plan is None or applied is None:
            return None
        window = timedelta(hours=applied.limit.window_hours)
        since = now - window
        count, tokens = uow.quota.totals(user_id, applied.bucket, since)
        if _reached(applied.limit, count, tokens):  # only now: when does it free up?
            used = uow.quota.window(user_id, applied.bucket, since)
            _check(plan, subject, applied.limit, used, window)
        usage_id = uow.quota.add(user_id, applied.bucket, now, 0)
        return Reservation(usage_id, user_id, applied.bucket)

    async def settle(self, reservation: Reservation, tokens: int, *, counted: bool) -> None:
        """After the call: the provider-reported tokens, or the reservation released when
        nothing was delivered (a failed call does not cost the user an answer)."""
        await self._db.write(lambda uow: self.settle_in(uow, reservation, tokens, counted=counted))

    async def give_back(self, reservation: Reservation | None) -> None:
        """A costly action failed: its reservation does not count. Never raises (the action's
        own error is what the user is told; a failure here is logged, and the reservation then
        simply expires with its window) and is not cut short by a cancellation."""
        if reservation is None:
            return
        try:
            await asyncio.shield(self.settle(reservation, 0, counted=False))
        except Exception:
            logger.exception("quota: reservation %s not given back", reservation.usage_id)

    @staticmethod
    def settle_in(uow: UnitOfWork, reservation: Reservation, tokens: int, *, counted: bool) -> None:
        """`settle` inside a caller's transaction (with the answer's own row)."""
        if counted:
            uow.quota.settle(reservation.usage_id, tokens)
        else:
            uow.quota.release(reservation.usage_id)

    async def status(
        self, user_id: int, model_ids: Sequence[str]
    ) -> tuple[Plan | None, list[LimitStatus]]:
        """The user's plan and, per counter, what is used of each limited model's limit."""
        now = self._now()

        def status(uow: UnitOfWork) -> tuple[Plan | None, list[LimitStatus]]:
            plan = self._plan(uow, user_id, now)
            if plan is None:
                return None, []
            applied: dict[str, AppliedLimit] = {}
            counted: dict[str, list[str]] = {}  # bucket -> the asked-about models it counts
            for model_id in model_ids:
                found = self._catalog.limit_for(plan, model_id)
                if found is not None:
                    applied.setdefault(found.bucket, found)
                    counted.setdefault(found.bucket, []).append(model_id)
            result = []
            for bucket, item in applied.items():
                window = timedelta(hours=item.limit.window_hours)
                used = uow.quota.window(user_id, bucket, now - window)
                blocked = _blocked(item.limit, used, window)
                if blocked is not None:
                    resets_at = blocked[1]
                else:
                    resets_at = used[0].at + window if used else None
                tokens = sum(u.tokens for u in used)
                result.append(
                    LimitStatus(tuple(counted[bucket]), item.limit, len(used), tokens, resets_at)
                )
            return plan, result

        return await self._db.read(status)

    async def audio_left(self, user_id: int) -> tuple[float, float, float] | None:
        """Minutes of audio left, the limit and its window in hours; None: not limited."""
        if not self._catalog.enabled:
            return None
        now = self._now()

        def left(uow: UnitOfWork) -> tuple[float, float, float] | None:
            plan = self._plan(uow, user_id, now)
            limit = plan.config.audio if plan else None
            if limit is None:
                return None
            since = now - timedelta(hours=limit.window_hours)
            used = sum(u.tokens for u in uow.quota.window(user_id, AUDIO_BUCKET, since))
            return max(0.0, limit.minutes - used / 60), limit.minutes, limit.window_hours

        return await self._db.read(left)

    async def prune(self, older_than: timedelta) -> int:
        before = self._now() - older_than
        return await self._db.write(lambda uow: uow.quota.prune(before))

    def _plan(self, uow: UnitOfWork, user_id: int, now: datetime) -> Plan | None:
        held = uow.entitlements.active(user_id, now)
        return self._catalog.best(e.plan_id for e in held)


def _reached(limit: Limit, count: int, tokens: int) -> bool:
    """Whether one more would pass the limit, from the window's totals."""
    return (limit.messages is not None and count >= limit.messages) or (
        limit.tokens is not None and tokens >= limit.tokens
    )


def _check(
    plan: Plan, subject: str, limit: Limit, used: list[UsageEntry], window: timedelta
) -> None:
    """Raise QuotaExceededError if one more would pass a limit, with when it frees up."""
    blocked = _blocked(limit, used, window)
    if blocked is not None:
        kind, until = blocked
        raise QuotaExceededError(plan, subject, limit, until, kind)


def _audio_frees(
    used: list[UsageEntry], total: int, seconds: int, allowed: int, window: timedelta
) -> datetime | None:
    """When enough of the window's audio stops counting for `seconds` more (None: never,
    the recording is longer than the whole limit)."""
    if seconds > allowed:
        return None
    for entry in used:
        total -= entry.tokens
        if total + seconds <= allowed:
            return entry.at + window
    return None


def _blocked(
    limit: Limit, used: list[UsageEntry], window: timedelta
) -> tuple[str, datetime | None] | None:
    """None if one more is allowed now; else which limit stops it and when one more is
    allowed again (None: never, the limit is 0)."""
    blocks: list[tuple[str, datetime | None]] = []
    if limit.messages is not None and len(used) >= limit.messages:
        # Below the limit again once the (n - limit + 1)-th oldest answer leaves the window.
        index = len(used) - limit.messages
        blocks.append(("messages", used[index].at + window if limit.messages > 0 else None))
    if limit.tokens is not None:
        total = sum(u.tokens for u in used)
        if total >= limit.tokens:
            until = None
            for entry in used:
                total -= entry.tokens
                if total < limit.tokens:
                    until = entry.at + window
                    break
            blocks.append(("tokens", until if limit.tokens > 0 else None))
    if not blocks:
        return None
    never = [block for block in blocks if block[1] is None]
    return never[0] if never else max(blocks, key=lambda block: block[1] or EPOCH)
