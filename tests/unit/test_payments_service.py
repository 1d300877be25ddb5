"""Selling plans for Stars on real SQLite: signed invoice payloads, the pre-checkout check, each
charge credited once, subscriptions, refunds, grants and the revenue report."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.payments.catalog import Catalog
from bot.payments.config import MAX_STARS, Limit, PlanConfig, QuotasConfig
from bot.payments.payload import PayloadSigner, secret_from_token
from bot.payments.quotas import QuotaService
from bot.payments.service import (
    CreditStatus,
    Payment,
    PaymentService,
    RevokeStatus,
)
from bot.storage.database import Database
from bot.storage.dto import Entitlement, LedgerKind, RevenueLine
from tests.unit.payments_fixtures import (
    FakeClock,
    ledger,
    plan,
)

USER = 1001
OTHER_USER = 2002
ADMIN = 42
SECRET = b"test payments secret"
TTL = timedelta(minutes=60)
WEEK_DAYS = timedelta(days=7)

PLANS: dict[str, PlanConfig] = {
    "free": plan("free", limits={"*": Limit(messages=3)}),
    "week": plan(
        "pass",
        price=50,
        days=7,
        title={"en": "Week", "ru": "Неделя"},
        description={"en": "Seven days of more answers"},
        limits={"*": Limit(messages=100)},
    ),
    "month": plan("subscription", price=250, title={"en": "Monthly"}),
}


@pytest.fixture
def clock() -> FakeClock:
    # The ledger stamps rows with the wall clock, so the revenue periods need one near it.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def service(db: Database, clock: FakeClock, plans: dict[str, PlanConfig] = PLANS) -> PaymentService:
    return PaymentService(
        db, Catalog(plans, QuotasConfig(), "en"), PayloadSigner(SECRET, TTL), clock
    )


def invoice_payload(payments: PaymentService, plan_id: str, user_id: int = USER) -> str:
    invoice = payments.invoice(plan_id, user_id, "en")
    assert invoice is not None
    return invoice.payload


def pass_payment(payload: str, charge_id: str, user_id: int = USER, amount: int = 50) -> Payment:
    return Payment(user_id, charge_id, payload, "XTR", amount)


async def entitlement(db: Database, user_id: int, plan_id: str) -> Entitlement:
    found = await db.read(lambda uow: uow.entitlements.get(user_id, plan_id))
    assert found is not None
    return found


async def all_time(payments: PaymentService) -> dict[str, RevenueLine]:
    periods = dict(await payments.revenue())
    return {line.plan_id: line for line in periods["all"]}


def tampered(payload: str, index: int) -> str:
    replacement = "A" if payload[index] != "A" else "B"
    return payload[:index] + replacement + payload[index + 1 :]


# Payloads


def test_a_payload_reads_back_what_was_issued() -> None:
    signer = PayloadSigner(SECRET, TTL)
    issued_at = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)

    read = signer.read(signer.issue("week", USER, 50, issued_at))

    assert read is not None
    assert (read.plan_id, read.user_id, read.price, read.issued_at) == ("week", USER, 50, issued_at)


def test_any_changed_character_makes_a_payload_unreadable() -> None:
    signer = PayloadSigner(SECRET, TTL)
    payload = signer.issue("week", USER, 50, datetime(2030, 1, 1, tzinfo=UTC))

    unreadable = [i for i in range(len(payload)) if signer.read(tampered(payload, i)) is None]

    # plan, user, price, time, version, separators and signature alike
    assert unreadable == list(range(len(payload)))
    assert signer.read(payload.replace(".1001.", ".1002.")) is None
    assert signer.read(payload + "A") is None
    assert signer.read(payload[:-1]) is None
    assert signer.read("") is None
    assert signer.read("not a payload") is None


def test_a_payload_of_another_secret_is_unreadable() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    payload = PayloadSigner(secret_from_token("123:abc"), TTL).issue("week", USER, 50, now)

    assert PayloadSigner(secret_from_token("123:abd"), TTL).read(payload) is None
    assert PayloadSigner(secret_from_token("123:abc"), TTL).read(payload) is not None


def test_a_payload_is_fresh_for_its_ttl_and_a_minute_of_clock_skew() -> None:
    signer = PayloadSigner(SECRET, TTL)
    issued = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    read = signer.read(signer.issue("week", USER, 50, issued))
    assert read is not None

    assert signer.is_fresh(read, issued)
    assert signer.is_fresh(read, issued + TTL)
    assert not signer.is_fresh(read, issued + TTL + timedelta(seconds=1))
    assert signer.is_fresh(read, issued - timedelta(seconds=59))  # issued by a clock ahead
    assert not signer.is_fresh(read, issued - timedelta(seconds=61))


def test_the_longest_payload_fits_telegrams_128_bytes() -> None:
    signer = PayloadSigner(SECRET, TTL)
    longest_plan = "p" + "-" * 23
    biggest_user = 2**63 - 1
    late = datetime(2286, 1, 1, tzinfo=UTC)  # an 11-digit unix time

    payload = signer.issue(longest_plan, biggest_user, MAX_STARS, late)

    assert len(payload.encode()) <= 128
    read = signer.read(payload)
    assert read is not None
    assert (read.plan_id, read.user_id, read.price) == (longest_plan, biggest_user, MAX_STARS)


# Invoices and the pre-checkout check


def test_an_invoice_is_accepted_at_pre_checkout(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)

    week = payments.invoice("week", USER, "ru")
    month = payments.invoice("month", USER, "ru")

    assert week is not None
    assert (week.title, week.description, week.price) == (
        "Неделя",
        "Seven days of more answers",
        50,
    )
    assert week.subscription_period is None
    assert payments.check(week.payload, USER, "XTR", 50) is None
    assert month is not None
    assert month.title == "Monthly"  # no Russian title: the default locale's
    assert month.subscription_period == 30 * 86_400
    assert payments.check(month.payload, USER, "XTR", 250) is None


def test_no_invoice_for_the_free_or_an_unknown_plan(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)

    assert payments.invoice("free", USER, "en") is None
    assert payments.invoice("gold", USER, "en") is None


def test_a_tampered_payload_is_refused(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    payload = invoice_payload(payments, "week")

    assert payments.check(payload.replace(".week.", ".month."), USER, "XTR", 50) == (
        "pay-refused-invalid"
    )
    assert payments.check(tampered(payload, len(payload) - 3), USER, "XTR", 50) == (
        "pay-refused-invalid"
    )


def test_another_users_payload_is_refused(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    payload = invoice_payload(payments, "week", user_id=OTHER_USER)

    assert payments.check(payload, USER, "XTR", 50) == "pay-refused-invalid"


def test_a_stale_invoice_is_refused(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    payload = invoice_payload(payments, "week")

    clock.advance(TTL)
    assert payments.check(payload, USER, "XTR", 50) is None
    clock.advance(timedelta(seconds=1))
    assert payments.check(payload, USER, "XTR", 50) == "pay-refused-expired"


def test_a_price_that_is_not_the_plans_is_refused(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    payload = invoice_payload(payments, "week")

    assert payments.check(payload, USER, "XTR", 49) == "pay-refused-price"
    assert payments.check(payload, USER, "XTR", 51) == "pay-refused-price"
    assert payments.check(payload, USER, "USD", 50) == "pay-refused-price"


def test_an_invoice_issued_before_a_price_change_is_refused(db: Database, clock: FakeClock) -> None:
    payload = invoice_payload(service(db, clock), "week")
    dearer = {**PLANS, "week": plan("pass", price=60, days=7)}
    payments = service(db, clock, dearer)

    assert payments.check(payload, USER, "XTR", 50) == "pay-refused-price"
    assert payments.check(payload, USER, "XTR", 60) == "pay-refused-price"


def test_a_payload_for_the_free_or_a_removed_plan_is_refused(
    db: Database, clock: FakeClock
) -> None:
    signer = PayloadSigner(SECRET, TTL)
    payments = service(db, clock)
    gold = invoice_payload(
        service(db, clock, {**PLANS, "gold": plan("pass", price=90, days=9)}), "gold"
    )

    free = signer.issue("free", USER, 0, clock.now)
    assert payments.check(free, USER, "XTR", 0) == "pay-refused-unavailable"
    assert payments.check(gold, USER, "XTR", 90) == "pay-refused-unavailable"


# Crediting


async def test_a_pass_extends_by_its_days_and_passes_stack(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    quotas = QuotaService(db, payments.catalog, clock)
    start = clock.now

    first = await payments.credit(pass_payment(invoice_payload(payments, "week"), "c1"))
    clock.advance(timedelta(days=2))
    second = await payments.credit(pass_payment(invoice_payload(payments, "week"), "c2"))

    assert first.status == second.status == CreditStatus.CREDITED
    assert first.plan is not None
    assert first.plan.id == "week"
    assert first.entitlement is not None
    assert first.entitlement.expires_at == start + WEEK_DAYS
    assert second.entitlement is not None
    assert second.entitlement.expires_at == start + 2 * WEEK_DAYS
    assert not first.renewal
    assert (current := await quotas.plan_of(USER)) is not None
    assert current.id == "week"

    clock.now = start + 2 * WEEK_DAYS
    assert (current := await quotas.plan_of(USER)) is not None
    assert current.id == "free"


async def test_a_pass_bought_after_the_last_expired_starts_now(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    await payments.credit(pass_payment(invoice_payload(payments, "week"), "c1"))

    clock.advance(timedelta(days=20))
    credit = await payments.credit(pass_payment(invoice_payload(payments, "week"), "c2"))

    assert credit.entitlement is not None
    assert credit.entitlement.expires_at == clock.now + WEEK_DAYS


async def test_the_same_charge_is_credited_once(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    payment = pass_payment(invoice_payload(payments, "week"), "c1")

    first = await payments.credit(payment)
    again = await payments.credit(payment)

    assert first.status == CreditStatus.CREDITED
    assert again.status == CreditStatus.DUPLICATE
    assert (await entitlement(db, USER, "week")).expires_at == clock.now + WEEK_DAYS
    line = (await all_time(payments))["week"]
    assert (line.payments, line.amount) == (1, 50)
    assert len(await ledger(db)) == 1


async def test_a_charge_delivered_twice_at_once_is_credited_once(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    payment = pass_payment(invoice_payload(payments, "week"), "c1")

    results = await asyncio.gather(payments.credit(payment), payments.credit(payment))

    assert sorted(r.status for r in results) == [CreditStatus.CREDITED, CreditStatus.DUPLICATE]
    assert (await entitlement(db, USER, "week")).expires_at == clock.now + WEEK_DAYS
    assert len(await ledger(db)) == 1


async def test_a_subscription_runs_until_telegrams_expiration(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    payload = invoice_payload(payments, "month")
    expires = clock.now + timedelta(days=30, minutes=3)  # Telegram's date, not ours

    credit = await payments.credit(
        Payment(
            USER, "sub1", payload, "XTR", 250, expires, is_recurring=True, is_first_recurring=True
        )
    )

    assert credit.status == CreditStatus.CREDITED
    assert not credit.renewal
    held = await entitlement(db, USER, "month")
    assert held.expires_at == expires
    assert held.subscription_charge_id == "sub1"
    assert held.renewal == "active"
    charge = await payments.charge("sub1")
    assert charge is not None
    assert (charge.kind, charge.amount, charge.plan_id) == (LedgerKind.PURCHASE, 250, "month")


async def test_a_renewal_extends_to_the_new_expiration(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    payload = invoice_payload(payments, "month")
    first_expiry = clock.now + timedelta(days=30)
    await payments.credit(
        Payment(USER, "sub1", payload, "XTR", 250, first_expiry, True, is_first_recurring=True)
    )

    clock.now = first_expiry - timedelta(minutes=1)
    second_expiry = first_expiry + timedelta(days=30)
    renewal = await payments.credit(
        Payment(USER, "sub2", payload, "XTR", 250, second_expiry, is_recurring=True)
    )

    assert renewal.status == CreditStatus.CREDITED
    assert renewal.renewal
    held = await entitlement(db, USER, "month")
    assert held.expires_at == second_expiry
    assert held.subscription_charge_id == "sub1"  # the subscription keeps its first charge id
    charge = await payments.charge("sub2")
    assert charge is not None
    assert charge.kind == LedgerKind.RENEWAL
    assert charge.seconds == 30 * 86_400
    line = (await all_time(payments))["month"]
    assert (line.payments, line.amount) == (2, 500)


async def test_days_granted_on_a_subscription_survive_its_renewal(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    payload = invoice_payload(payments, "month")
    first_expiry = clock.now + timedelta(days=30)
    await payments.credit(Payment(USER, "sub1", payload, "XTR", 250, first_expiry, True, True))
    await payments.grant(USER, "month", 10, actor_id=ADMIN)  # e.g. an apology for an outage

    clock.now = first_expiry
    await payments.credit(
        Payment(USER, "sub2", payload, "XTR", 250, first_expiry + timedelta(days=30), True)
    )

    # Paid 30 days more and was given 10: 40 days from the first expiry.
    assert (await entitlement(db, USER, "month")).expires_at == first_expiry + timedelta(days=40)


async def test_a_failed_renewal_keeps_the_plan_until_expiry(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    quotas = QuotaService(db, payments.catalog, clock)
    payload = invoice_payload(payments, "month")
    expiry = clock.now + timedelta(days=30)
    await payments.credit(
        Payment(USER, "sub1", payload, "XTR", 250, expiry, True, is_first_recurring=True)
    )

    changed = await payments.subscription_changed(USER, payload, "failed")

    assert changed is not None
    changed_plan, changed_entitlement = changed
    assert changed_plan.id == "month"
    assert changed_entitlement.renewal == "failed"
    assert changed_entitlement.expires_at == expiry
    assert (await entitlement(db, USER, "month")).renewal == "failed"
    clock.now = expiry - timedelta(seconds=1)
    assert (current := await quotas.plan_of(USER)) is not None
    assert current.id == "month"
    clock.now = expiry
    assert (current := await quotas.plan_of(USER)) is not None
    assert current.id == "free"


async def test_a_subscription_change_for_nothing_held_changes_nothing(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)

    assert (
        await payments.subscription_changed(USER, invoice_payload(payments, "month"), "canceled")
        is None
    )
    assert await payments.subscription_changed(USER, "forged.payload", "canceled") is None


async def test_a_renewal_signed_under_an_old_secret_is_still_credited(
    db: Database, clock: FakeClock
) -> None:
    """Telegram renews with the first invoice's payload; the secret may have changed since."""
    payments = service(db, clock)
    old = PayloadSigner(b"the secret before rotation", TTL).issue("month", USER, 250, clock.now)
    expires = clock.now + timedelta(days=30)
    credit = await payments.credit(Payment(USER, "r-old", old, "XTR", 250, expires, True))

    assert credit.status == CreditStatus.CREDITED
    assert (await entitlement(db, USER, "month")).expires_at == expires
    assert payments.check(old, USER, "XTR", 250) == "pay-refused-invalid"  # no new purchases


async def test_a_payment_for_no_known_plan_is_recorded_as_unmatched(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    quotas = QuotaService(db, payments.catalog, clock)
    forged = Payment(USER, "c-odd", "not a payload of ours", "XTR", 50)
    free = Payment(
        USER, "c-free", PayloadSigner(SECRET, TTL).issue("free", USER, 0, clock.now), "XTR", 5
    )

    first = await payments.credit(forged)
    again = await payments.credit(forged)
    for_free = await payments.credit(free)

    assert first.status == CreditStatus.UNMATCHED
    assert first.entitlement is None
    assert again.status == CreditStatus.DUPLICATE
    assert for_free.status == CreditStatus.UNMATCHED
    recorded = await payments.charge("c-odd")
    assert recorded is not None
    assert (recorded.user_id, recorded.amount, recorded.seconds) == (USER, 50, 0)
    assert recorded.payload == forged.payload  # support can see what was paid for
    assert (current := await quotas.plan_of(USER)) is not None
    assert current.id == "free"
    assert len(await ledger(db)) == 2


# Refunds and grants


async def test_a_refund_takes_back_exactly_what_the_charge_bought(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    start = clock.now
    await payments.credit(pass_payment(invoice_payload(payments, "week"), "c1"))
    await payments.credit(pass_payment(invoice_payload(payments, "week"), "c2"))

    revoked = await payments.revoke("c1", actor_id=ADMIN)

    assert revoked.status == RevokeStatus.REVOKED
    assert revoked.charge is not None
    assert revoked.charge.charge_id == "c1"
    assert revoked.entitlement is not None
    assert revoked.entitlement.expires_at == start + WEEK_DAYS
    assert (await entitlement(db, USER, "week")).expires_at == start + WEEK_DAYS
    line = (await all_time(payments))["week"]
    assert (line.amount, line.payments, line.refunded, line.refunds) == (100, 2, 50, 1)
    refund = (await ledger(db))[-1]
    assert (refund.kind, refund.refund_of, refund.actor_id) == ("refund", "c1", ADMIN)
    assert refund.seconds == -7 * 86_400


async def test_a_charge_is_refunded_once(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    await payments.credit(pass_payment(invoice_payload(payments, "week"), "c1"))
    await payments.credit(pass_payment(invoice_payload(payments, "week"), "c2"))
    await payments.revoke("c1")

    again = await payments.revoke("c1")

    assert again.status == RevokeStatus.ALREADY
    assert (await entitlement(db, USER, "week")).expires_at == clock.now + WEEK_DAYS
    line = (await all_time(payments))["week"]
    assert (line.refunded, line.refunds) == (50, 1)


async def test_refunding_an_unknown_charge_does_nothing(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)

    assert (await payments.revoke("nope")).status == RevokeStatus.UNKNOWN
    assert await ledger(db) == []


async def test_a_refunded_subscription_is_canceled(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    quotas = QuotaService(db, payments.catalog, clock)
    expiry = clock.now + timedelta(days=30)
    await payments.credit(
        Payment(USER, "sub1", invoice_payload(payments, "month"), "XTR", 250, expiry, True, True)
    )

    revoked = await payments.revoke("sub1")

    assert revoked.status == RevokeStatus.REVOKED
    held = await entitlement(db, USER, "month")
    assert held.expires_at == clock.now
    assert held.renewal == "canceled"
    assert (current := await quotas.plan_of(USER)) is not None
    assert current.id == "free"


async def test_a_grant_extends_the_plan_and_is_recorded_free_of_charge(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    await payments.credit(pass_payment(invoice_payload(payments, "week"), "c1"))

    granted = await payments.grant(USER, "week", 3, actor_id=ADMIN)

    assert granted is not None
    assert granted.expires_at == clock.now + timedelta(days=10)
    grant = (await ledger(db))[-1]
    assert (grant.kind, grant.amount, grant.seconds, grant.actor_id) == (
        "grant",
        0,
        3 * 86_400,
        ADMIN,
    )
    line = (await all_time(payments))["week"]
    assert (line.payments, line.amount) == (1, 50)  # a grant is not revenue
    assert await payments.grant(USER, "free", 3, actor_id=ADMIN) is None
    assert await payments.grant(USER, "gold", 3, actor_id=ADMIN) is None


# Reports


async def test_revenue_per_period(db: Database, clock: FakeClock) -> None:
    payments = service(db, clock)
    expiry = clock.now + timedelta(days=30)
    month = invoice_payload(payments, "month")
    await payments.credit(pass_payment(invoice_payload(payments, "week"), "c1"))
    await payments.credit(pass_payment(invoice_payload(payments, "week"), "c2"))
    await payments.credit(Payment(USER, "sub1", month, "XTR", 250, expiry, True, True))
    renewed = expiry + timedelta(days=30)
    await payments.credit(Payment(USER, "sub2", month, "XTR", 250, renewed, is_recurring=True))
    await payments.revoke("c2")
    await payments.grant(USER, "week", 3, actor_id=ADMIN)

    async def report() -> dict[str, list[RevenueLine]]:
        return dict(await payments.revenue())

    now = await report()
    assert list(now) == ["day", "week", "month", "all"]
    expected = [
        RevenueLine("month", "XTR", 500, 2, 0, 0),
        RevenueLine("week", "XTR", 100, 2, 50, 1),
    ]
    assert now["day"] == now["week"] == now["month"] == now["all"] == expected

    clock.advance(timedelta(days=2))
    later = await report()
    assert later["day"] == []
    assert later["week"] == later["month"] == later["all"] == expected

    clock.advance(timedelta(days=6))
    later = await report()
    assert later["day"] == later["week"] == []
    assert later["month"] == later["all"] == expected

    clock.advance(timedelta(days=23))
    later = await report()
    assert later["day"] == later["week"] == later["month"] == []
    assert later["all"] == expected


async def test_holding_shows_the_current_plan_and_what_was_held(
    db: Database, clock: FakeClock
) -> None:
    payments = service(db, clock)
    assert (await payments.holding(USER)).entitlements == []
    await payments.credit(pass_payment(invoice_payload(payments, "week"), "c1"))

    now = await payments.holding(USER)
    clock.advance(WEEK_DAYS)
    expired = await payments.holding(USER)

    assert now.plan is not None
    assert now.plan.id == "week"
    assert [(e.plan_id, e.expires_at) for e in now.entitlements] == [("week", clock.now)]
    assert expired.plan is not None
    assert expired.plan.id == "free"
    assert [e.plan_id for e in expired.entitlements] == ["week"]  # still shown, as held
    empty = await payments.holding(OTHER_USER)
    assert empty.plan is not None
    assert empty.plan.id == "free"
