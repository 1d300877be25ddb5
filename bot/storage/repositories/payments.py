"""Entitlements (time on paid plans), the payments ledger and quota usage."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from bot.storage.dto import Entitlement, LedgerEntry, LedgerKind, RevenueLine, UsageEntry
from bot.storage.models import EntitlementRow, LedgerRow, QuotaUsageRow


def _entitlement(row: EntitlementRow) -> Entitlement:
    return Entitlement(
        row.user_id,
        row.plan_id,
        row.expires_at,
        row.subscription_charge_id,
        row.renewal,
        row.paid_until,
    )


class EntitlementRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def lock_user(self, user_id: int) -> None:
        """Serialise this user's credits and quota reservations across processes (PostgreSQL;
        on SQLite the one-writer gate already does)."""
        if self._session.get_bind().dialect.name == "postgresql":
            self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": user_id})

    def active(self, user_id: int, now: datetime) -> list[Entitlement]:
        rows = self._session.connection().execute(_ACTIVE, {"user": user_id, "now": now})
        return [Entitlement(*row) for row in rows.all()]

    def of_user(self, user_id: int) -> list[Entitlement]:
        rows = self._session.scalars(
            select(EntitlementRow)
            .where(EntitlementRow.user_id == user_id)
            .order_by(EntitlementRow.expires_at.desc())
        )
        return [_entitlement(row) for row in rows.all()]

    def get(self, user_id: int, plan_id: str) -> Entitlement | None:
        row = self._row(user_id, plan_id)
        return _entitlement(row) if row else None

    def extend(
        self,
        user_id: int,
        plan_id: str,
        *,
        seconds: int,
        now: datetime,
        subscription_charge_id: str | None = None,
        renewal: str | None = None,
        paid_until: datetime | None = None,
    ) -> Entitlement:
        """Add `seconds` from the later of now and the current expiry (passes stack)."""
        row = self._row(user_id, plan_id)
        if row is None:
            row = EntitlementRow(user_id=user_id, plan_id=plan_id, expires_at=now)
            self._session.add(row)
        row.expires_at = max(row.expires_at, now) + timedelta(seconds=seconds)
        if subscription_charge_id is not None:
            row.subscription_charge_id = subscription_charge_id
        if renewal is not None:
            row.renewal = renewal
        if paid_until is not None:
            row.paid_until = paid_until
        self._session.flush()
        return _entitlement(row)

    def shorten(self, user_id: int, plan_id: str, seconds: int) -> Entitlement | None:
        row = self._row(user_id, plan_id)
        if row is None:
            return None
        row.expires_at = row.expires_at - timedelta(seconds=seconds)
        self._session.flush()
        return _entitlement(row)

    def set_renewal(self, user_id: int, plan_id: str, renewal: str) -> bool:
        result = self._session.execute(
            update(EntitlementRow)
            .where(EntitlementRow.user_id == user_id, EntitlementRow.plan_id == plan_id)
            .values(renewal=renewal)
        )
        return bool(getattr(result, "rowcount", 0))

    def _row(self, user_id: int, plan_id: str) -> EntitlementRow | None:
        return self._session.scalar(
            select(EntitlementRow).where(
                EntitlementRow.user_id == user_id, EntitlementRow.plan_id == plan_id
            )
        )


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, entry: LedgerEntry) -> None:
        """Raises IntegrityError (at flush) for a charge credited or refunded before."""
        self._session.add(
            LedgerRow(
                user_id=entry.user_id,
                plan_id=entry.plan_id,
                kind=entry.kind.value,
                charge_id=entry.charge_id,
                refund_of=entry.refund_of,
                amount=entry.amount,
                currency=entry.currency,
                provider_charge_id=entry.provider_charge_id,
                seconds=entry.seconds,
                payload=entry.payload,
                actor_id=entry.actor_id,
                note=entry.note,
            )
        )
        self._session.flush()

    def by_charge(self, charge_id: str) -> LedgerEntry | None:
        """The payment of this charge id: Telegram's, or the provider's for money."""
        row = self._session.scalar(select(LedgerRow).where(LedgerRow.charge_id == charge_id))
        if row is None:
            row = self._session.scalar(
                select(LedgerRow)
                .where(LedgerRow.provider_charge_id == charge_id, LedgerRow.charge_id.is_not(None))
                .limit(1)
            )
        return _entry(row) if row else None

    def refund_of(self, charge_id: str) -> LedgerEntry | None:
        row = self._session.scalar(select(LedgerRow).where(LedgerRow.refund_of == charge_id))
        return _entry(row) if row else None

    def revenue(self, since: datetime | None) -> list[RevenueLine]:
        """Per plan and currency: paid (purchases and renewals) and refunded, since `since`."""
        paid = LedgerRow.kind.in_([LedgerKind.PURCHASE.value, LedgerKind.RENEWAL.value])
        refund = LedgerRow.kind == LedgerKind.REFUND.value
        query = (
            select(
                LedgerRow.plan_id,
                LedgerRow.currency,
                func.coalesce(func.sum(case((paid, LedgerRow.amount), else_=0)), 0),
                func.count(case((paid, 1))),
                func.coalesce(func.sum(case((refund, -LedgerRow.amount), else_=0)), 0),
                func.count(case((refund, 1))),
            )
            .where(LedgerRow.kind != LedgerKind.GRANT.value)
            .group_by(LedgerRow.plan_id, LedgerRow.currency)
        )
        if since is not None:
            query = query.where(LedgerRow.created_at >= since)
        rows = self._session.execute(query.order_by(LedgerRow.plan_id, LedgerRow.currency))
        return [
            RevenueLine(p, c, int(s), int(n), int(r), int(m)) for p, c, s, n, r, m in rows.all()
        ]


def _entry(row: LedgerRow) -> LedgerEntry:
    return LedgerEntry(
        user_id=row.user_id,
        plan_id=row.plan_id,
        kind=LedgerKind(row.kind),
        amount=row.amount,
        currency=row.currency,
        seconds=row.seconds,
        charge_id=row.charge_id,
        refund_of=row.refund_of,
        payload=row.payload,
        actor_id=row.actor_id,
        provider_charge_id=row.provider_charge_id,
        note=row.note,
        created_at=row.created_at,
    )


class QuotaRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def window(self, user_id: int, bucket: str, since: datetime) -> list[UsageEntry]:
        """What the user used of `bucket` after `since`, oldest first."""
        rows = self._session.execute(
            select(QuotaUsageRow.at, QuotaUsageRow.tokens)
            .where(
                QuotaUsageRow.user_id == user_id,
                QuotaUsageRow.bucket == bucket,
                QuotaUsageRow.at > since,
            )
            .order_by(QuotaUsageRow.at)
        )
        return [UsageEntry(at, tokens) for at, tokens in rows.all()]

    def totals(self, user_id: int, bucket: str, since: datetime) -> tuple[int, int]:
        """How many the user used of `bucket` after `since`, and their tokens (one query)."""
        count, tokens = self._session.execute(
            select(
                func.count(QuotaUsageRow.id), func.coalesce(func.sum(QuotaUsageRow.tokens), 0)
            ).where(
                QuotaUsageRow.user_id == user_id,
                QuotaUsageRow.bucket == bucket,
                QuotaUsageRow.at > since,
            )
        ).one()
        return int(count), int(tokens)

    def add(self, user_id: int, bucket: str, at: datetime, tokens: int) -> int:
        added = self._session.connection().execute(
            _NEW_USAGE,
            {"user_id": user_id, "bucket": bucket, "at": at, "tokens": tokens, "settled": False},
        )
        return int(added.scalar_one())

    def settle(self, usage_id: int, tokens: int) -> None:
        self._session.connection().execute(_SETTLE, {"key": usage_id, "tokens": tokens})

    def release(self, usage_id: int) -> None:
        self._session.connection().execute(_RELEASE, {"key": usage_id})

    def prune(self, before: datetime) -> int:
        result = self._session.execute(delete(QuotaUsageRow).where(QuotaUsageRow.at < before))
        return int(getattr(result, "rowcount", 0) or 0)


# The statements of every turn's quota check, built once.
_ACTIVE = select(
    EntitlementRow.user_id,
    EntitlementRow.plan_id,
    EntitlementRow.expires_at,
    EntitlementRow.subscription_charge_id,
    EntitlementRow.renewal,
    EntitlementRow.paid_until,
).where(EntitlementRow.user_id == bindparam("user"), EntitlementRow.expires_at > bindparam("now"))
_TOTALS = select(
    func.count(QuotaUsageRow.id), func.coalesce(func.sum(QuotaUsageRow.tokens), 0)
).where(
    QuotaUsageRow.user_id == bindparam("user"),
    QuotaUsageRow.bucket == bindparam("bucket"),
    QuotaUsageRow.at > bindparam("since"),
)
_NEW_USAGE = insert(QuotaUsageRow).returning(QuotaUsageRow.id)
_SETTLE = (
    update(QuotaUsageRow)
    .where(QuotaUsageRow.id == bindparam("key"))
    .values(tokens=bindparam("tokens"), settled=True)
)
_RELEASE = delete(QuotaUsageRow).where(QuotaUsageRow.id == bindparam("key"))
