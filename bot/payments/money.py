"""What an invoice in money carries besides its price: the provider's token, the contact the
receipt needs (asked in the payment form and passed on to the provider), and for YooKassa
the receipt itself (`provider_data`), as Russian fiscal law (54-FZ) requires."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.payments.config import MoneyConfig
from bot.payments.currencies import exponent

RECEIPT_DESCRIPTION_MAX = 128  # YooKassa's limit for an item's description


@dataclass(frozen=True, slots=True)
class MoneyTerms:
    config: MoneyConfig
    provider_token: str

    @property
    def currency(self) -> str:
        return self.config.currency

    def invoice_fields(self, title: str, amount: int) -> dict[str, Any]:
        """Keyword arguments of sendInvoice for a plan sold for `amount` (smallest units)."""
        contact = self.config.receipt_contact
        fields: dict[str, Any] = {"provider_token": self.provider_token}
        if contact == "email":
            fields.update(need_email=True, send_email_to_provider=True)
        elif contact == "phone":
            fields.update(need_phone_number=True, send_phone_number_to_provider=True)
        if self.config.provider == "yookassa":
            fields["provider_data"] = json.dumps(self.receipt(title, amount), ensure_ascii=False)
        return fields

    def receipt(self, title: str, amount: int) -> dict[str, Any]:
        """YooKassa's receipt: one item, the plan, paid in full."""
        exp = exponent(self.currency) or 0
        value = Decimal(amount).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))
        item = {
            "description": title[:RECEIPT_DESCRIPTION_MAX],
            "quantity": "1.00",
            "amount": {"value": str(value), "currency": self.currency},
            "vat_code": self.config.vat_code,
            "payment_mode": "full_payment",
            "payment_subject": "service",
        }
        receipt: dict[str, Any] = {"items": [item]}
        if self.config.tax_system_code is not None:
            receipt["tax_system_code"] = self.config.tax_system_code
        return {"receipt": receipt}
