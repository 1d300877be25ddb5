"""/history: the current conversation as a Markdown document."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.chat.ports import Translate
from bot.storage.database import Database
from bot.storage.dto import Chat, MessageStatus, Role, StoredMessage
from bot.storage.uow import UnitOfWork

# Rendering is a string join; only a very long conversation is worth a thread.
RENDER_IN_THREAD_CHARS = 200_000
TOOL_ARGUMENTS_CHARS = 300
TOOL_RESULT_CHARS = 1500  # a fetched page or search results: the start is enough


@dataclass(frozen=True, slots=True)
class ExportedConversation:
    file_name: str
    content: bytes
    turns: int


@dataclass(frozen=True, slots=True)
class TranscriptLabels:
    heading: str
    you: str
    interrupted: str
    model_name: Callable[[str | None], str]
    t: Translate | None = None  # attachments and tool steps; None: left out


def render_markdown(messages: Sequence[StoredMessage], labels: TranscriptLabels) -> str:
    parts = [f"# {labels.heading}\n"]
    for message in messages:
        author = labels.you if message.role is Role.USER else labels.model_name(message.model)
        if message.status is MessageStatus.INTERRUPTED:
            author = f"{author} ({labels.interrupted})"
        body = "\n\n".join(_blocks(message, labels.t)) if labels.t else message.text.strip()
        parts.append(f"## {author}\n\n{body}\n")
    return "\n".join(parts)


def _blocks(message: StoredMessage, t: Translate) -> list[str]:
    """The message's text, attachments (a note for pictures) and tool steps, in order."""
    shown: list[str] = []
    for block in message.content:
        kind = block.get("type")
        if kind == "text" and str(block.get("text", "")).strip():
            shown.append(str(block["text"]).strip())
        elif kind == "image":
            width, height = block.get("width"), block.get("height")
            size = f", {width}×{height}" if width and height else ""
            shown.append(f"_{t('history-picture', size=size)}_")
        elif kind == "document":
            shown.append(f"_{t('history-document', name=str(block.get('name') or '?'))}_")
        elif kind == "tool_call":
            arguments = _clip(str(block.get("arguments", "")), TOOL_ARGUMENTS_CHARS)
            name = str(block.get("name", "?"))
            shown.append(f"> {t('history-tool-call', name=name, arguments=arguments)}")
        elif kind == "tool_result":
            key = "history-tool-error" if block.get("is_error") else "history-tool-result"
            result = _clip(str(block.get("content", "")), TOOL_RESULT_CHARS)
            quoted = "\n".join(f"> {line}" for line in result.splitlines() if line.strip())
            shown.append(f"> {t(key, name=str(block.get('name', '?')))}\n{quoted}")
    return shown


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _has_more_than_text(message: StoredMessage) -> bool:
    return any(b.get("type") in ("image", "document", "tool_call") for b in message.content)


class HistoryExporter:
    def __init__(self, db: Database, model_name: Callable[[str | None], str | None]):
        self._db = db
        self._model_name = model_name

    async def export(self, chat: Chat, t: Translate) -> ExportedConversation | None:
        """The chat's current conversation, or None when it has no messages yet."""

        def transcript(uow: UnitOfWork) -> list[StoredMessage]:
            current = uow.chats.get(chat.id)
            conversation_id = current.current_conversation_id if current else None
            return uow.messages.transcript(conversation_id) if conversation_id else []

        messages = await self._db.read(transcript)
        messages = [m for m in messages if m.text.strip() or _has_more_than_text(m)]
        if not messages:
            return None
        now = datetime.now(UTC)
        started = messages[0].created_at or now
        labels = TranscriptLabels(
            heading=t(
                "history-heading",
                chat=chat.title or t("history-private-chat"),
                date=started.strftime("%Y-%m-%d %H:%M UTC"),
            ),
            you=t("history-you"),
            interrupted=t("history-interrupted"),
            model_name=lambda model: self._model_name(model) or model or t("history-assistant"),
            t=t,
        )
        if sum(len(m.text) for m in messages) > RENDER_IN_THREAD_CHARS:
            text = await asyncio.to_thread(render_markdown, messages, labels)
        else:
            text = render_markdown(messages, labels)
        return ExportedConversation(
            file_name=f"conversation-{chat.id}-{now:%Y-%m-%d}.md",
            content=text.encode("utf-8"),
            turns=len(messages),
        )
