"""What the simulated users do: write messages, send files, press buttons, stop drafts, pay."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from typing import TYPE_CHECKING, Any

from .errors import ApiError, bad_request
from .methods_media import guess_mime, image_size, looks_like_image
from .payments import SUBSCRIPTION_STATES, Invoice, PreCheckout, Subscription
from .state import CallbackQuery, ChatState, StoredMessage, now_unix
from .textutil import utf16_len
from .validation import MAX_CAPTION, MAX_TEXT, check_entities

if TYPE_CHECKING:
    from .core import Core

_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")
_MENTION_RE = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{4,32}(?![\w@])")
_URL_RE = re.compile(r"(?<![\w@/])https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities a Telegram client would attach: bot commands, @mentions and URLs."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in (("bot_command", _COMMAND_RE), ("url", _URL_RE), ("mention", _MENTION_RE)):
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end, _ in found):
                continue
            found.append((match.start(), match.end(), kind))
    found.sort()
    return [
        {
            "type": kind,
            "offset": utf16_len(text[:start]),
            "length": utf16_len(text[start:end]),
        }
        for start, end, kind in found
    ]


def _decode_b64(value: Any, field: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise bad_request(f"{field} is required (base64)")
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        raise bad_request(f"{field} is not valid base64") from None


def target_chat(core: Core, body: dict[str, Any], user: dict[str, Any]) -> ChatState:
    raw_chat = body.get("chat")
    if not raw_chat:
        return core.world.private_chat(user)
    if not isinstance(raw_chat, dict):
        raise bad_request("chat must be an object")
    if raw_chat.get("type") == "private" or raw_chat.get("id") == user["id"]:
        return core.world.private_chat(user)
    chat = core.world.group_chat(raw_chat)
    chat.members.add(int(user["id"]))
    return chat


def _user(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("user")
    if not isinstance(raw, dict):
        raise bad_request("user is required")
    return core.world.remember_user(raw)


def user_message(core: Core, body: dict[str, Any], **content: Any) -> dict[str, Any]:
    """Store a message from a simulated user and queue the ``message`` update."""
    user = _user(core, body)
    chat = target_chat(core, body, user)
    reply_to = body.get("reply_to_message_id")
    if reply_to is not None:
        replied = chat.messages.get(int(reply_to))
        if replied is None or replied.deleted:
            raise bad_request("message to be replied not found")
    message = StoredMessage(
        message_id=chat.new_message_id(),
        chat_id=chat.id,
        from_bot=False,
        user_id=int(user["id"]),
        date=now_unix(),
        reply_to_message_id=int(reply_to) if reply_to is not None else None,
        media_group_id=body.get("media_group_id"),
        **content,
    )
    chat.add(message)
    payload = {"message": core.world.message_json(message)}
    update_id = core.push_update(payload, chat.id)
    return {"update_id": update_id, "message": payload["message"]}


def send_text(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message text is empty")
    if utf16_len(text) > MAX_TEXT:
        raise bad_request("message is too long")
    raw_entities = body.get("entities")
    entities = check_entities(text, raw_entities) if raw_entities else detect_entities(text)
    return user_message(core, body, text=text, entities=entities)


def _caption(body: dict[str, Any]) -> dict[str, Any]:
    caption = body.get("caption") or None
    if caption is None:
        return {}
    if utf16_len(str(caption)) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return {"caption": str(caption), "caption_entities": detect_entities(str(caption))}


def send_photo(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    data = _decode_b64(body.get("image_b64"), "image_b64")
    size = image_size(data)
    if size == (0, 0) and not looks_like_image(data):
        raise bad_request("image_b64 is not a PNG, JPEG, GIF, WebP or BMP image")
    stored = core.world.add_file(data, kind="photo", size=size)
    return user_message(core, body, photo=stored, **_caption(body))


def send_document(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    data = _decode_b64(body.get("content_b64"), "content_b64")
    file_name = str(body.get("file_name") or "file.bin")
    mime = guess_mime(file_name, body.get("mime_type"))
    stored = core.world.add_file(data, kind="document", file_name=file_name, mime_type=mime)
    return user_message(core, body, document=stored, **_caption(body))


RECORDINGS = {"voice": "audio/ogg", "audio": "audio/mpeg", "video_note": "video/mp4"}


def send_recording(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    """A voice message, an audio file or a video note (``kind``); ``duration`` in seconds is
    what Telegram reports (default: read from an OGG/WAV header, else estimated)."""
    from bot.sandbox.llm.audio import duration
    from bot.voice.formats import format_of

    kind = str(body.get("kind") or "voice")
    if kind not in RECORDINGS:
        raise bad_request("kind must be 'voice', 'audio' or 'video_note'")
    data = _decode_b64(body.get("content_b64"), "content_b64")
    seconds = body.get("duration")
    if seconds is None:
        seconds = round(duration(data, format_of(data) or "bin"))
    elif isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise bad_request("duration must be a number of seconds")
    file_name = str(body["file_name"]) if body.get("file_name") else None
    mime = guess_mime(file_name, body.get("mime_type")) or RECORDINGS[kind]
    stored = core.world.add_file(data, kind=kind, file_name=file_name, mime_type=mime)
    stored.duration = int(seconds)
    return user_message(core, body, recording=(kind, stored), **_caption(body))


def _chat_and_message(core: Core, body: dict[str, Any]) -> tuple[ChatState, StoredMessage]:
    try:
        chat = core.world.chats[int(body["chat_id"])]
    except (KeyError, TypeError, ValueError):
        raise ApiError(404, "chat not found") from None
    message = chat.messages.get(int(body.get("message_id") or 0))
    if message is None or message.deleted:
        raise bad_request("message not found")
    return chat, message


def press(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    """Press an inline button: a ``callback_query`` update, if the button exists."""
    user = _user(core, body)
    chat, message = _chat_and_message(core, body)
    data = body.get("data")
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    if not any(button.get("callback_data") == data for row in rows for button in row):
        raise bad_request(f"message {message.message_id} has no button with callback_data {data!r}")
    query = CallbackQuery(
        id=str(secrets.randbits(62)),
        user_id=int(user["id"]),
        chat_id=chat.id,
        message_id=message.message_id,
        data=str(data),
    )
    core.world.callbacks[query.id] = query
    payload = {
        "callback_query": {
            "id": query.id,
            "from": user,
            "message": core.world.message_json(message),
            "chat_instance": core.world.chat_instance(chat.id),
            "data": query.data,
        }
    }
    update_id = core.push_update(payload, chat.id)
    return {"update_id": update_id, "callback_query_id": query.id}


def stop_generation(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    """Press the stop button of a draft: a ``stopped_message_generation`` update."""
    _user(core, body)
    try:
        chat = core.world.chats[int(body["chat_id"])]
        draft_id = int(body["draft_id"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(404, "chat or draft not found") from None
    drafts = [draft for draft in chat.drafts if draft["draft_id"] == draft_id]
    if not drafts:
        raise bad_request(f"no draft {draft_id} in chat {chat.id}")
    if not drafts[-1]["can_stop"]:
        raise bad_request(f"draft {draft_id} has no stop button (can_stop was not set)")
    payload: dict[str, Any] = {
        "stopped_message_generation": {"chat": dict(chat.info), "draft_id": draft_id}
    }
    if drafts[-1].get("message_thread_id") is not None:
        payload["stopped_message_generation"]["message_thread_id"] = drafts[-1]["message_thread_id"]
    return {"update_id": core.push_update(payload, chat.id)}


def declare_group(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    raw_chat = body.get("chat")
    if not isinstance(raw_chat, dict):
        raise bad_request("chat is required")
    chat = core.world.group_chat(raw_chat)
    admins = [int(x) for x in body.get("admins") or []]
    members = [int(x) for x in body.get("members") or []]
    creator = body.get("creator")
    chat.creator = int(creator) if creator is not None else (admins[0] if admins else None)
    chat.admins = set(admins)
    chat.members = set(members) | set(admins)
    chat.notify()
    return {"chat": chat.info}


def _field_int(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or value is None:
        raise bad_request(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer") from None


def _payment_message(core: Core, user_id: int, **content: Any) -> StoredMessage:
    """A payment service message from the user in their private chat."""
    chat = core.world.private_chat(core.world.user_json(user_id))
    message = StoredMessage(
        message_id=chat.new_message_id(),
        chat_id=chat.id,
        from_bot=False,
        user_id=user_id,
        date=now_unix(),
        **content,
    )
    chat.add(message)
    return message


def _push_message(core: Core, message: StoredMessage) -> int:
    return core.push_update({"message": core.world.message_json(message)}, message.chat_id)


def _push_subscription(core: Core, subscription: Subscription) -> int:
    payload = {
        "subscription": {
            "user": core.world.user_json(subscription.user_id),
            "invoice_payload": subscription.invoice_payload,
            "state": subscription.state,
        }
    }
    return core.push_update(payload, subscription.user_id)


def refund_charge(core: Core, user_id: int | None, charge_id: Any) -> int:
    """Refund a charge (of ``user_id``, when given): a ``refunded_payment`` message update."""
    charge = core.world.payments.refund(user_id, charge_id)
    message = _payment_message(core, charge.user_id, refunded_payment=charge.refunded_payment())
    return _push_message(core, message)


def _overrides(body: dict[str, Any]) -> dict[str, Any]:
    """What a test wants the pre-checkout query to carry instead of the invoice's values."""
    overrides: dict[str, Any] = {}
    for name in ("payload", "currency"):
        if body.get(name) is not None:
            overrides[name] = str(body[name])
    if body.get("total_amount") is not None:
        overrides["total_amount"] = _field_int(body, "total_amount")
    return overrides


def _first_expiration(body: dict[str, Any], invoice: Invoice) -> int | None:
    if invoice.subscription_period is None:
        return None
    if body.get("subscription_expiration_date") is not None:
        return _field_int(body, "subscription_expiration_date")
    return now_unix() + invoice.subscription_period


def _pre_checkout_json(query: PreCheckout, user: dict[str, Any]) -> dict[str, Any]:
    data = {
        "id": query.id,
        "from": user,
        "currency": query.currency,
        "total_amount": query.total_amount,
        "invoice_payload": query.invoice_payload,
    }
    if query.order_info is not None:
        data["order_info"] = query.order_info
    return data


async def pay(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    """Pay an invoice: ``pre_checkout_query``, wait for the answer, then ``successful_payment``."""
    user = _user(core, body)
    payments = core.world.payments
    invoice = payments.find_invoice(body.get("link"), body.get("chat_id"), body.get("message_id"))
    if invoice.chat_id is not None:
        _chat_and_message(core, {"chat_id": invoice.chat_id, "message_id": invoice.message_id})
    try:
        deadline = float(body.get("deadline", 10))
    except (TypeError, ValueError):
        raise bad_request("deadline must be a number of seconds") from None
    deliveries = _field_int(body, "deliveries", 1)
    if not 1 <= deliveries <= 10:
        raise bad_request("deliveries must be 1-10")
    expiration = _first_expiration(body, invoice)
    form = body.get("order_info")
    if form is not None and not isinstance(form, dict):
        raise bad_request("order_info must be an object")
    query = payments.new_query(int(user["id"]), invoice, _overrides(body), deadline, form)
    core.push_update({"pre_checkout_query": _pre_checkout_json(query, user)}, query.user_id)
    await query.wait()
    result: dict[str, Any] = {
        "ok": False,
        "pre_checkout_query_id": query.id,
        "total_amount": query.total_amount,
    }
    if query.answer is None:
        return {**result, "status": "timeout"}
    if not query.answer["ok"]:
        return {**result, "status": "declined", "error_message": query.answer["error_message"]}
    charge = payments.new_charge(query, expiration)
    if invoice.subscription_period is not None:
        payments.subscribe(charge, invoice.subscription_period)
    message = _payment_message(core, charge.user_id, successful_payment=charge.successful_payment())
    return {
        **result,
        "ok": True,
        "status": "paid",
        "telegram_payment_charge_id": charge.telegram_payment_charge_id,
        "provider_payment_charge_id": charge.provider_payment_charge_id,
        "currency": charge.currency,
        "order_info": charge.order_info,
        "update_ids": [_push_message(core, message) for _ in range(deliveries)],
        "subscription_expiration_date": expiration,
    }


def renew(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    """The monthly renewal of a subscription: a new charge, or a ``failed`` subscription."""
    payments = core.world.payments
    subscription = payments.subscription_of(_field_int(body, "user_id"), body.get("charge_id"))
    if subscription.state == "canceled":
        raise ApiError(400, "subscription is canceled")
    if body.get("fail"):
        subscription.state = "failed"
        return {"ok": True, "status": "failed", "update_id": _push_subscription(core, subscription)}
    expiration = subscription.expiration + subscription.period
    if body.get("subscription_expiration_date") is not None:
        expiration = _field_int(body, "subscription_expiration_date")
    charge = payments.renewal_charge(subscription, expiration)
    subscription.expiration, subscription.state = expiration, "active"
    message = _payment_message(core, charge.user_id, successful_payment=charge.successful_payment())
    return {
        "ok": True,
        "status": "renewed",
        "telegram_payment_charge_id": charge.telegram_payment_charge_id,
        "subscription_expiration_date": expiration,
        "update_id": _push_message(core, message),
    }


def subscription_state(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    """The user cancels or re-enables a subscription in Telegram: a ``subscription`` update."""
    payments = core.world.payments
    subscription = payments.subscription_of(_field_int(body, "user_id"), body.get("charge_id"))
    state = body.get("state")
    if state not in SUBSCRIPTION_STATES:
        raise bad_request("state must be 'canceled' or 'active'")
    subscription.state, subscription.canceled_by_bot = str(state), False
    update_id = _push_subscription(core, subscription)
    return {"ok": True, "state": subscription.state, "update_id": update_id}


def refund(core: Core, body: dict[str, Any]) -> dict[str, Any]:
    """Telegram refunds a charge (a dispute): a ``refunded_payment`` message update."""
    return {"ok": True, "update_id": refund_charge(core, None, body.get("charge_id"))}
