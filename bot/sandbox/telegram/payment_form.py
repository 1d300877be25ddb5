"""The payment form of an invoice in money: what it asks the buyer for, and what it hands to
the bot as ``order_info`` (in the pre-checkout query and the successful payment).

The invoice's ``need_name``, ``need_email``, ``need_phone_number`` and
``need_shipping_address`` flags decide the fields. The chat page shows them and sends what
the user typed (``/sandbox/pay`` with ``order_info``); without it the form is filled with
made-up contacts of the user. A field the invoice asks for must be filled and well formed
(Telegram's form does not let the buyer pay otherwise); fields it does not ask for are left
out, as Telegram leaves them out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from .errors import bad_request

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,18}[0-9]$")
ADDRESS_FIELDS = ("country_code", "state", "city", "street_line1", "street_line2", "post_code")
ADDRESS_REQUIRED = ("country_code", "city", "street_line1", "post_code")


class FormFlags(Protocol):
    need_name: bool
    need_email: bool
    need_phone_number: bool
    need_shipping_address: bool


def form_fields(invoice: FormFlags) -> list[str]:
    """The ``order_info`` fields the payment form asks for, in the form's order."""
    wanted = [
        ("name", invoice.need_name),
        ("email", invoice.need_email),
        ("phone_number", invoice.need_phone_number),
        ("shipping_address", invoice.need_shipping_address),
    ]
    return [name for name, asked in wanted if asked]


def made_up(user_id: int) -> dict[str, Any]:
    """What the sandbox's form holds for a user who types nothing."""
    return {
        "name": f"Sandbox User {user_id}",
        "email": f"user{user_id}@sandbox.example",
        "phone_number": f"+1555{user_id % 10_000_000:07d}",
        "shipping_address": {
            "country_code": "GB",
            "state": "",
            "city": "London",
            "street_line1": "1 Sandbox Street",
            "street_line2": "",
            "post_code": "EC1A 1AA",
        },
    }


def order_info(
    invoice: FormFlags, user_id: int, given: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """The filled form, or None when the invoice asks for nothing."""
    fields = form_fields(invoice)
    if not fields:
        return None
    source = made_up(user_id) if given is None else given
    if not isinstance(source, Mapping):
        raise bad_request("order_info must be an object")
    return {name: _checked(name, source.get(name)) for name in fields}


def _checked(name: str, value: Any) -> Any:
    if name == "shipping_address":
        return _address(value)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise bad_request(f"the payment form needs {name}")
    if name == "email" and not _EMAIL.match(text):
        raise bad_request(f"the payment form's email is not an e-mail address: {text}")
    if name == "phone_number" and not _PHONE.match(text):
        raise bad_request(f"the payment form's phone_number is not a phone number: {text}")
    return text


def _address(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise bad_request("the payment form needs shipping_address")
    address = {key: str(value.get(key) or "").strip() for key in ADDRESS_FIELDS}
    missing = [key for key in ADDRESS_REQUIRED if not address[key]]
    if missing:
        raise bad_request(f"the payment form's shipping_address needs {', '.join(missing)}")
    if not re.fullmatch(r"[A-Z]{2}", address["country_code"]):
        raise bad_request("shipping_address.country_code must be two capital letters (GB)")
    return address
