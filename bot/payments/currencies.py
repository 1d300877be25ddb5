"""Currencies Telegram Payments takes, with their exponents (digits after the decimal point).

Amounts travel in a currency's smallest units: US$1.45 is 145, ¥145 is 145. The exponents are
those of Telegram's currencies.json (https://core.telegram.org/bots/payments/currencies.json).
That file also gives each currency's least and greatest amount (about US$1 and US$10,000 at the
day's exchange rate): they move with the rates, so they are not copied here; an invoice outside
them is refused by Telegram (`CURRENCY_TOTAL_AMOUNT_INVALID`) and the bot logs it for the operator.
"""

from __future__ import annotations

from decimal import Decimal

STARS = "XTR"
ZERO_DECIMAL = frozenset({"CLP", "ISK", "JPY", "KRW", "PYG", "UGX", "VND"})
TWO_DECIMALS = frozenset(
    (
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ARS",
        "AUD",
        "AZN",
        "BAM",
        "BDT",
        "BGN",
        "BND",
        "BOB",
        "BRL",
        "CAD",
        "CHF",
        "CNY",
        "COP",
        "CRC",
        "CZK",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "EUR",
        "GBP",
        "GEL",
        "GTQ",
        "HKD",
        "HNL",
        "HRK",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "JMD",
        "KES",
        "KGS",
        "KZT",
        "LBP",
        "LKR",
        "MAD",
        "MDL",
        "MNT",
        "MUR",
        "MVR",
        "MXN",
        "MYR",
        "MZN",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "PAB",
        "PEN",
        "PHP",
        "PKR",
        "PLN",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TJS",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "USD",
        "UYU",
        "UZS",
        "YER",
        "ZAR",
    )
)


def exponent(currency: str) -> int | None:
    """Digits after the decimal point, or None for a currency Telegram does not take."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in TWO_DECIMALS:
        return 2
    return None


def to_minor(value: Decimal, currency: str) -> int:
    """`Decimal("199.00")` RUB -> 19900; raises ValueError for more digits than it has."""
    exp = exponent(currency)
    if exp is None:
        raise ValueError(f"Telegram does not take payments in {currency}")
    minor = value * 10**exp
    if minor != minor.to_integral_value():
        raise ValueError(f"{currency} has {exp} digits after the decimal point, not more")
    return int(minor)


def format_amount(amount: int, currency: str) -> str:
    """19900 RUB -> '199.00 RUB'; Stars read '⭐50'."""
    if currency == STARS:
        return f"⭐{amount}"
    exp = exponent(currency) or 0
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**exp)
    return f"{sign}{whole}.{part:0{exp}d} {currency}" if exp else f"{sign}{whole} {currency}"
