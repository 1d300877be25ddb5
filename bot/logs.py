"""Logging set-up: one format (text, or JSON lines with `BOT_LOG_FORMAT=json`), quiet HTTP
libraries, and no secret in any log record.

The configured secrets (the bot token, provider keys, the payments and webhook secrets) are
replaced by `[redacted]` wherever they appear in a record: its message and arguments, and
the text of an exception (a provider's error body that echoes the key, a URL with the token).

JSON records carry the update, chat and turn they belong to: `bind` sets them in context
variables where an update (the context middleware) and an answer (the answerer) are handled;
each update runs in a task of its own, so they never leak from one update to another.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

UPDATE_ID: ContextVar[int | None] = ContextVar("log_update_id", default=None)
CHAT_ID: ContextVar[int | None] = ContextVar("log_chat_id", default=None)
TURN_ID: ContextVar[int | None] = ContextVar("log_turn_id", default=None)
_FIELDS = (("update_id", UPDATE_ID), ("chat_id", CHAT_ID), ("turn_id", TURN_ID))


def bind(
    *, update_id: int | None = None, chat_id: int | None = None, turn_id: int | None = None
) -> None:
    """Name the update, chat or turn the current task works on (for JSON log records)."""
    if update_id is not None:
        UPDATE_ID.set(update_id)
    if chat_id is not None:
        CHAT_ID.set(chat_id)
    if turn_id is not None:
        TURN_ID.set(turn_id)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, update_id, chat_id,
    turn_id (when known) and the exception's text (as redacted by `SecretFilter`)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, variable in _FIELDS:
            value = variable.get()
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words


class SecretFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None

    def redact(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


LOG_FORMATS = ("text", "json")


def setup_logging(level: str, log_format: str = "text") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    # One line per HTTP request to a provider, or per update (aiogram), is noise at INFO: the
    # bot logs one line per delivered answer, and failures.
    for noisy in ("httpx", "httpx2", "alembic.runtime.plugins", "aiogram.event"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def redact_secrets(secrets: Iterable[str]) -> None:
    """From now on, every handler of the root logger leaves these values out."""
    secret_filter = SecretFilter(secrets)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretFilter)]:
            handler.removeFilter(old)
        handler.addFilter(secret_filter)
