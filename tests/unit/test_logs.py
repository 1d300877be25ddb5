"""No configured secret reaches a log: not in messages, arguments, nor exception texts."""

from __future__ import annotations

import io
import logging

from bot.logs import REDACTED, SecretFilter

TOKEN = "123456:AAH-secret-token-value"
KEY = "sk-live-0123456789"


def logged(*records: tuple[str, tuple[object, ...], BaseException | None]) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter([TOKEN, KEY, "abc"]))  # too short to redact: kept
    logger = logging.getLogger("test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for message, args, error in records:
            logger.error(message, *args, exc_info=error)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_secrets_are_redacted_in_messages_arguments_and_tracebacks() -> None:
    try:
        raise RuntimeError(f"401: Incorrect API key provided: {KEY}")
    except RuntimeError as exc:
        error = exc
    text = logged(
        (f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed", (), None),
        ("provider said %s", (f"key {KEY} refused",), None),
        ("request failed", (), error),
        ("abc stays", (), None),
    )
    assert TOKEN not in text
    assert KEY not in text
    assert text.count(REDACTED) == 3
    assert "RuntimeError: 401: Incorrect API key provided: [redacted]" in text
    assert "abc stays" in text


def test_without_secrets_records_are_untouched() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "value %s", ("v",), None)
    assert SecretFilter([]).filter(record)
    assert (record.msg, record.args) == ("value %s", ("v",))
