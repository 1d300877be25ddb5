"""In-memory world of the sandbox: users, chats, their messages, files and callback queries.

Messages are indexed per chat (``ChatState.messages``) so every Bot API call touches only its
own chat; nothing scans all messages.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import bad_request
from .payments import Payments


def now_unix() -> int:
    return int(datetime.now(UTC).timestamp())


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0  # seconds, for recordings

    def file_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }

    def photo_sizes(self) -> list[dict[str, Any]]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": len(self.data),
            }
        ]

    def recording_json(self, kind: str) -> dict[str, Any]:
        """A Voice, Audio or VideoNote object."""
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "duration": self.duration,
            "file_size": len(self.data),
        }
        if kind == "video_note":
            data["length"] = 240
        elif self.mime_type:
            data["mime_type"] = self.mime_type
        if kind == "audio" and self.file_name:
            data["file_name"] = self.file_name
        return data

    def document_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc


@dataclass
class StoredMessage:
    message_id: int
    chat_id: int
    from_bot: bool
    user_id: int | None
    date: int
    at: float = field(default_factory=time.monotonic)
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    rich: dict[str, Any] | None = None
    rich_plain: str | None = None
    reply_markup: dict[str, Any] | None = None
    reply_keyboard: Any = None
    photo: StoredFile | None = None
    document: StoredFile | None = None
    recording: tuple[str, StoredFile] | None = None  # ("voice" | "audio" | "video_note", file)
    reply_to_message_id: int | None = None
    message_thread_id: int | None = None
    media_group_id: str | None = None
    link_preview_options: dict[str, Any] | None = None
    edit_date: int | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    invoice: dict[str, Any] | None = None
    successful_payment: dict[str, Any] | None = None
    refunded_payment: dict[str, Any] | None = None

    def content_key(self) -> tuple[Any, ...]:
        """What an edit must change to avoid 'message is not modified'."""
        return (self.text, self.entities, self.rich, self.reply_markup)

    def plain_text(self) -> str | None:
        if self.text is not None:
            return self.text
        return self.caption if self.caption is not None else self.rich_plain

    def transcript(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "user_id": self.user_id,
            "text": self.plain_text(),
            "entities": self.entities if self.text is not None else self.caption_entities,
            "caption": self.caption,
            "rich": self.rich,
            "reply_markup": self.reply_markup,
            "reply_keyboard": self.reply_keyboard,
            "photo": self.photo.photo_sizes() if self.photo else None,
            "document": self.document.document_json() if self.document else None,
            **_recording(self),
            "date": self.date,
            "at": self.at,
            "edits": self.edits,
            "deleted": self.deleted,
            "reply_to_message_id": self.reply_to_message_id,
            "message_thread_id": self.message_thread_id,
            "media_group_id": self.media_group_id,
            "invoice": self.invoice,
            "successful_payment": self.successful_payment,
            "refunded_payment": self.refunded_payment,
        }


@dataclass
class ChatState:
    info: dict[str, Any]
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    drafts: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    creator: int | None = None
    admins: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)
    bot_messages: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def id(self) -> int:
        return int(self.info["id"])

    @property
    def type(self) -> str:
        return str(self.info["type"])

    def notify(self) -> None:
        """Wake everyone waiting for a change in this chat."""
        self.changed.set()
        self.changed = asyncio.Event()

    def add(self, message: StoredMessage) -> None:
        self.messages[message.message_id] = message
        if message.from_bot:
            self.bot_messages += 1
        self.notify()

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def role(self, user_id: int) -> str:
        if self.type == "private":
            return "member" if user_id == self.id else "left"
        if user_id == self.creator:
            return "creator"
        if user_id in self.admins:
            return "administrator"
        return "member" if user_id in self.members else "left"


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    at: float = field(default_factory=time.monotonic)
    answer: dict[str, Any] | None = None


def _token(prefix: str, size: int = 24) -> str:
    return prefix + secrets.token_urlsafe(size)[:size]


class World:
    """Every chat, user, file, callback query and payment the sandbox knows about."""

    def __init__(self, bot: dict[str, Any]) -> None:
        self.bot = bot
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, StoredFile] = {}
        self.paths: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackQuery] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.payments = Payments()
        self._file_seq = 0

    def user_json(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot["id"]:
            return dict(self.bot)
        return dict(
            self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "User"}
        )

    def remember_user(self, raw: dict[str, Any]) -> dict[str, Any]:
        try:
            user_id = int(raw["id"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("user.id is required") from None
        user = {**self.users.get(user_id, {}), "id": user_id, "is_bot": False}
        for key in ("first_name", "last_name", "username", "language_code", "is_premium"):
            if raw.get(key) is not None:
                user[key] = raw[key]
        user.setdefault("first_name", "Test")
        self.users[user_id] = user
        private = self.chats.get(user_id)
        if private is not None:
            private.info = self.private_info(user)
        return user

    @staticmethod
    def private_info(user: dict[str, Any]) -> dict[str, Any]:
        info = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if user.get(key):
                info[key] = user[key]
        return info

    def private_chat(self, user: dict[str, Any]) -> ChatState:
        chat = self.chats.get(user["id"])
        if chat is None:
            chat = self.chats[user["id"]] = ChatState(self.private_info(user))
        return chat

    def group_chat(self, raw: dict[str, Any]) -> ChatState:
        try:
            chat_id = int(raw["id"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("chat.id is required") from None
        if chat_id > 0:
            raise bad_request("group chat ids are negative")
        chat = self.chats.get(chat_id)
        default_type = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        info = dict(chat.info) if chat else {"id": chat_id, "type": default_type}
        for key in ("type", "title", "username", "is_forum"):
            if raw.get(key) is not None:
                info[key] = raw[key]
        info.setdefault("title", f"Group {chat_id}")
        if chat is None:
            chat = self.chats[chat_id] = ChatState(info)
        chat.info = info
        return chat

    def chat(self, chat_id: Any) -> ChatState:
        """The chat a Bot API call addresses (id or @username), or 'chat not found'."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            for chat in self.chats.values():
                if str(chat.info.get("username", "")).lower() == name:
                    return chat
            raise bad_request("chat not found")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        found = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if found is None:
            raise bad_request("chat not found")
        return found

    def add_file(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        size: tuple[int, int] = (0, 0),
    ) -> StoredFile:
        self._file_seq += 1
        prefix = "AgACAgIAAxkBAA" if kind == "photo" else "BQACAgIAAxkBAA"
        if kind == "photo":
            ext = "jpg"
        else:
            suffix = file_name.rpartition(".")[2] if file_name and "." in file_name else ""
            ext = "".join(c for c in suffix if c.isalnum())[:10].lower() or "bin"
        folder = _FOLDERS.get(kind, "documents")
        stored = StoredFile(
            file_id=_token(prefix, 40),
            file_unique_id=_token("AQAD", 12),
            file_path=f"{folder}/file_{self._file_seq}.{ext}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            width=size[0],
            height=size[1],
        )
        self.files[stored.file_id] = stored
        self.paths[stored.file_path] = stored
        return stored

    def chat_instance(self, chat_id: int) -> str:
        return str((chat_id * 6364136223846793005 + 1442695040888963407) % (1 << 63))

    def message_json(self, msg: StoredMessage, *, with_reply: bool = True) -> dict[str, Any]:
        """The Bot API ``Message`` object for a stored message."""
        chat = self.chats[msg.chat_id]
        sender = self.bot["id"] if msg.from_bot else msg.user_id
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": dict(chat.info),
            "from": self.user_json(sender if sender is not None else 0),
        }
        optional = {
            "message_thread_id": msg.message_thread_id,
            "edit_date": msg.edit_date,
            "media_group_id": msg.media_group_id,
            "text": msg.text,
            "entities": msg.entities or None,
            "caption": msg.caption,
            "caption_entities": msg.caption_entities or None,
            "link_preview_options": msg.link_preview_options,
            "photo": msg.photo.photo_sizes() if msg.photo else None,
            "document": msg.document.document_json() if msg.document else None,
            **_recording(msg),
            "reply_markup": msg.reply_markup,
            "rich_message": rich_message_json(msg) if msg.rich else None,
            "invoice": msg.invoice,
            "successful_payment": msg.successful_payment,
            "refunded_payment": msg.refunded_payment,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        if with_reply and msg.reply_to_message_id is not None:
            replied = chat.messages.get(msg.reply_to_message_id)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = self.message_json(replied, with_reply=False)
        return data


_FOLDERS = {"photo": "photos", "voice": "voice", "audio": "music", "video_note": "video_notes"}


def _recording(msg: StoredMessage) -> dict[str, Any]:
    """`{"voice": {...}}` (or audio, video_note) for a message that carries a recording."""
    if msg.recording is None:
        return {}
    kind, stored = msg.recording
    return {kind: stored.recording_json(kind)}


def rich_message_json(msg: StoredMessage) -> dict[str, Any]:
    """A minimal ``RichMessage``: one paragraph holding the plain text of the content."""
    return {"blocks": [{"type": "paragraph", "text": msg.rich_plain or ""}]}
