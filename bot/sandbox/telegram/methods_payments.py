"""Bot API methods of payments: invoices, pre-checkout answers, refunds.

Stars (``XTR``): digital goods, exactly one price, no provider token. Any other currency
(payments in money): a provider token is required, the prices add up to a total within the
currency's limits (see ``payments.money_limits``), ``provider_data`` must be JSON, and the
``need_*`` flags make the payment form ask for the buyer's name, e-mail, phone number or
shipping address (``payment_form``). ``is_flexible`` (shipping options by a shipping query)
is not simulated.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import validation
from .errors import bad_request
from .methods import bot_message
from .params import require
from .payments import MAX_STARS, STARS, SUBSCRIPTION_PERIOD, Invoice, money_limits
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


def _prices(prices: Any) -> Any:
    if isinstance(prices, str):
        try:
            return json.loads(prices)
        except ValueError:
            raise bad_request("can't parse prices JSON object") from None
    return prices


def _stars_amount(prices: Any) -> int:
    """The amount of the single ``LabeledPrice`` a Stars invoice must have."""
    prices = _prices(prices)
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


def _money_amount(prices: Any, currency: str) -> int:
    """The total of an invoice in money: its prices add up, within the currency's limits."""
    prices = _prices(prices)
    if not isinstance(prices, list) or not prices:
        raise bad_request("PRICES_INVALID")
    total = 0
    for price in prices:
        amount = price.get("amount") if isinstance(price, dict) else None
        label = price.get("label") if isinstance(price, dict) else None
        if not isinstance(label, str) or not label or not isinstance(amount, int):
            raise bad_request("PRICES_INVALID")
        total += amount
    least, most = money_limits(currency)
    if not least <= total <= most:
        raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    return total


def _provider_data(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        json.loads(text)
    except ValueError:
        raise bad_request("DATA_JSON_INVALID") from None
    return text


def invoice_from(params: dict[str, Any]) -> Invoice:
    """Validate the invoice parameters shared by sendInvoice and createInvoiceLink."""
    title = _sized(params.get("title"), MAX_TITLE, "INVOICE_TITLE_INVALID")
    description = _sized(params.get("description"), MAX_DESCRIPTION, "INVOICE_DESCRIPTION_INVALID")
    payload = _sized(
        params.get("payload"), MAX_PAYLOAD_BYTES, "INVOICE_PAYLOAD_INVALID", as_bytes=True
    )
    currency = params.get("currency")
    token = params.get("provider_token")
    if currency == STARS:
        if token not in (None, ""):
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        amount = _stars_amount(params.get("prices"))
    else:
        if not isinstance(currency, str) or money_limits(currency) == (0, 0):
            raise bad_request("CURRENCY_INVALID")
        if not isinstance(token, str) or not token:
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        amount = _money_amount(params.get("prices"), currency)
    start = params.get("start_parameter")
    return Invoice(
        title=title,
        description=description,
        payload=payload,
        currency=currency,
        total_amount=amount,
        start_parameter=start if isinstance(start, str) else "",
        provider_token=token if isinstance(token, str) and token else None,
        provider_data=_provider_data(params.get("provider_data")),
        need_email=_flag(params.get("need_email", False)),
        need_phone_number=_flag(params.get("need_phone_number", False)),
        send_email_to_provider=_flag(params.get("send_email_to_provider", False)),
        send_phone_number_to_provider=_flag(params.get("send_phone_number_to_provider", False)),
        need_name=_flag(params.get("need_name", False)),
        need_shipping_address=_flag(params.get("need_shipping_address", False)),
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
    if invoice.subscription_period is not None and invoice.currency != STARS:
        raise bad_request("SUBSCRIPTION_PERIOD_INVALID")  # subscriptions are in Stars only
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
    charge_id = params.get("telegram_payment_charge_id")
    if core.world.payments.charge_of(user_id, charge_id).currency != STARS:
        raise bad_request("CHARGE_NOT_FOUND")  # money goes back through the provider only
    refund_charge(core, user_id, charge_id)
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
