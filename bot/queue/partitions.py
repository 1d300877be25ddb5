"""Which partition an update belongs to: its chat's, the same key the ordering middleware uses."""

from __future__ import annotations

from typing import Any

# Updates whose object has a `chat` (or a message with one); then the sender's private chat.
_CHAT_HOLDERS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "stopped_message_generation",
    "message_reaction",
    "message_reaction_count",
    "chat_boost",
    "removed_chat_boost",
)


def chat_of(raw: dict[str, Any]) -> int | None:
    """The chat an update is about (as `bot.middlewares.ordering` keys it), if any."""
    for field in _CHAT_HOLDERS:
        body = raw.get(field)
        if isinstance(body, dict):
            chat = body.get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
    query = raw.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat_id = message["chat"].get("id")
            if isinstance(chat_id, int):
                return chat_id
    for body in raw.values():  # inline queries, payments' queries, polls: the sender
        if isinstance(body, dict) and isinstance(body.get("from"), dict):
            user_id = body["from"].get("id")
            if isinstance(user_id, int):
                return user_id
    return None


def partition_of_chat(chat_id: int, partitions: int) -> int:
    return chat_id % partitions


def partition_of(raw: dict[str, Any], partitions: int) -> int:
    """The update's chat's partition; an update about no chat goes by its id."""
    chat_id = chat_of(raw)
    if chat_id is None:
        update_id = raw.get("update_id")
        return update_id % partitions if isinstance(update_id, int) else 0
    return partition_of_chat(chat_id, partitions)
