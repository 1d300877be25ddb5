"""Bot API methods of Telegram Stars payments: invoices, pre-checkout answers, refunds.

The sandbox supports Stars (``XTR``) only: digital goods, exactly one price, no provider token.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import validation
from .errors import bad_request
from .methods import bot_message
from .params import require
from .payments import MAX_STARS, STARS, SUBSCRIPTION_PERIOD, Invoice
from .registry import api_method
from .users import refund_charge

if TYPE_CHECKING:
    from .core import Core

MAX_TITLE = 32
MAX_DESCRIPTION = 255
MAX_PAYLOAD_BYTES = 128
_TRUE = frozenset({"true", "1", "yes", "on"})


def _flag(value: Any) -> bool:
    """A boolean parameter sent as JSON or as form data (``true``/``false``)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def _sized(value: Any, limit: int, error: str, *, as_bytes: bool = False) -> str:
    if not isinstance(value, str):
        raise bad_request(error)
    size = len(value.encode("utf-8")) if as_bytes else len(value)
    if not 1 <= size <= limit:
        raise bad_request(error)
    return value


def _stars_amount(prices: Any) -> int:
    """The amount of the single ``LabeledPrice`` a Stars invoice must have."""
    if isinstance(prices, str):
        try:
            prices = json.loads(prices)
        except ValueError:
            raise bad_request("can't parse prices JSON object") from None
    if not isinstance(prices, list) or len(prices) != 1 or not isinstance(prices[0], dict):
        raise bad_request("STARS_INVOICE_INVALID")
    amount = prices[0].get("amount")
    label = prices[0].get("label")
    if not isinstance(label, str) or not label or isinstance(amount, bool):
        raise bad_request("STARS_INVOICE_INVALID")
    if not isinstance(amount, int) or not 1 <= amount <= MAX_STARS:
        raise bad_request("STARS_INVOICE_INVALID")
    return amount


def _subscription_period(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        period = int(value)
    except (TypeError, ValueError):
        raise bad_request("SUBSCRIPTION_PERIOD_INVALID") from None
    if period != SUBSCRIPTION_PERIOD:
        raise bad_request("SUBSCRIPTION_PERIOD_INVALID")
    return period


def invoice_from(params: dict[str, Any]) -> Invoice:
    """Validate the invoice parameters shared by sendInvoice and createInvoiceLink."""
    title = _sized(params.get("title"), MAX_TITLE, "INVOICE_TITLE_INVALID")
    description = _sized(params.get("description"), MAX_DESCRIPTION, "INVOICE_DESCRIPTION_INVALID")
    payload = _sized(
        params.get("payload"), MAX_PAYLOAD_BYTES, "INVOICE_PAYLOAD_INVALID", as_bytes=True
    )
    if params.get("currency") != STARS:
        raise bad_request("CURRENCY_INVALID")
    if params.get("provider_token") not in (None, ""):
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    amount = _stars_amount(params.get("prices"))
    start = params.get("start_parameter")
    return Invoice(
        title=title,
        description=description,
        payload=payload,
        currency=STARS,
        total_amount=amount,
        start_parameter=start if isinstance(start, str) else "",
    )


@api_method("sendInvoice")
async def send_invoice(core: Core, params: dict[str, Any]) -> Any:
    chat = core.world.chat(params.get("chat_id"))
    invoice = invoice_from(params)
    inline, _ = validation.reply_markup(params.get("reply_markup"), inline_only=True)
    message = bot_message(core, chat, params, invoice=invoice.invoice_json(), reply_markup=inline)
    core.world.payments.add_message_invoice(invoice, chat.id, message.message_id)
    return core.world.message_json(message)


@api_method("createInvoiceLink")
async def create_invoice_link(core: Core, params: dict[str, Any]) -> str:
    invoice = invoice_from(params)
    invoice.subscription_period = _subscription_period(params.get("subscription_period"))
    return core.world.payments.add_link_invoice(invoice)


@api_method("answerPreCheckoutQuery")
async def answer_pre_checkout_query(core: Core, params: dict[str, Any]) -> bool:
    error_message = params.get("error_message")
    core.world.payments.answer(
        str(params.get("pre_checkout_query_id") or ""),
        _flag(params.get("ok")),
        str(error_message) if error_message else None,
    )
    return True


@api_method("refundStarPayment")
async def refund_star_payment(core: Core, params: dict[str, Any]) -> bool:
    user_id = params.get("user_id")
    if not isinstance(user_id, int):
        raise bad_request("user_id is empty")
    refund_charge(core, user_id, params.get("telegram_payment_charge_id"))
    return True


@api_method("editUserStarSubscription")
async def edit_user_star_subscription(core: Core, params: dict[str, Any]) -> bool:
    user_id = params.get("user_id")
    if not isinstance(user_id, int):
        raise bad_request("user_id is empty")
    subscription = core.world.payments.subscription_of(
        user_id, params.get("telegram_payment_charge_id")
    )
    canceled = _flag(require(params, "is_canceled"))
    subscription.state = "canceled" if canceled else "active"
    subscription.canceled_by_bot = canceled
    return True
