"""Invoice payloads that cannot be forged or reused late: plan, buyer, price and the time of
issue, signed with HMAC-SHA256.

`p1.<plan>.<user id>.<price>.<issued unix>.<signature>`: at most ~80 bytes (Telegram allows
128); the signature is 128 bits, URL-safe base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

VERSION = "p1"


@dataclass(frozen=True, slots=True)
class Payload:
    plan_id: str
    user_id: int
    price: int
    issued_at: datetime


def secret_from_token(token: str) -> bytes:
    """A key of its own for payloads when PAYMENTS_SECRET is not set."""
    return hashlib.sha256(b"invoice-payload:" + token.encode()).digest()


class PayloadSigner:
    def __init__(self, secret: bytes, ttl: timedelta) -> None:
        self._secret = secret
        self.ttl = ttl

    def issue(self, plan_id: str, user_id: int, price: int, now: datetime) -> str:
        body = f"{VERSION}.{plan_id}.{user_id}.{price}.{int(now.timestamp())}"
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
        if len(parts) != 5 or parts[0] != VERSION:
            return None
        try:
            user_id, price, issued = int(parts[2]), int(parts[3]), int(parts[4])
            issued_at = datetime.fromtimestamp(issued, UTC)
        except (ValueError, OverflowError, OSError):
            return None
        return Payload(parts[1], user_id, price, issued_at)

    def is_fresh(self, payload: Payload, now: datetime) -> bool:
        return (
            payload.issued_at <= now + timedelta(minutes=1) and now - payload.issued_at <= self.ttl
        )

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
