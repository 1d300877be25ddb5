"""Invoice payloads that cannot be forged or reused late: plan, buyer, price and the time of
issue, signed with HMAC-SHA256.

`p1.<plan>.<user id>.<price>.<issued unix>.<signature>` for Stars, and
`m1.<plan>.<user id>.<amount>.<currency>.<issued unix>.<signature>` for money (the amount in
the currency's smallest units): at most ~90 bytes (Telegram allows 128); the signature is 128
bits, URL-safe base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

VERSION = "p1"
MONEY_VERSION = "m1"
STARS = "XTR"


@dataclass(frozen=True, slots=True)
class Payload:
    plan_id: str
    user_id: int
    price: int  # in the currency's smallest units
    issued_at: datetime
    currency: str = STARS


def secret_from_token(token: str) -> bytes:
    """A key of its own for payloads when PAYMENTS_SECRET is not set."""
    return hashlib.sha256(b"invoice-payload:" + token.encode()).digest()


class PayloadSigner:
    def __init__(self, secret: bytes, ttl: timedelta) -> None:
        self._secret = secret
        self.ttl = ttl

    def issue(
        self, plan_id: str, user_id: int, price: int, now: datetime, currency: str = STARS
    ) -> str:
        issued = int(now.timestamp())
        if currency == STARS:
            body = f"{VERSION}.{plan_id}.{user_id}.{price}.{issued}"
        else:
            body = f"{MONEY_VERSION}.{plan_id}.{user_id}.{price}.{currency}.{issued}"
        return f"{body}.{self._sign(body)}"

    def read(self, payload: str) -> Payload | None:
        """The payload's contents if we signed it (whatever its age), else None."""
        body, _, signature = payload.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return None
        return self.parse(payload)

    @staticmethod
    def parse(payload: str) -> Payload | None:
        """The contents without checking the signature: for what only Telegram sends (a
        payment made, a renewal, a subscription change), whose payload was ours when the
        invoice was made, perhaps under a secret changed since."""
        body = payload.rpartition(".")[0]
        parts = body.split(".")
        if len(parts) == 5 and parts[0] == VERSION:
            currency = STARS
        elif len(parts) == 6 and parts[0] == MONEY_VERSION and parts[4] != STARS:
            currency = parts.pop(4)
        else:
            return None
        try:
            user_id, price, issued = int(parts[2]), int(parts[3]), int(parts[4])
            issued_at = datetime.fromtimestamp(issued, UTC)
        except (ValueError, OverflowError, OSError):
            return None
        return Payload(parts[1], user_id, price, issued_at, currency)

    def is_fresh(self, payload: Payload, now: datetime) -> bool:
        return (
            payload.issued_at <= now + timedelta(minutes=1) and now - payload.issued_at <= self.ttl
        )

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
