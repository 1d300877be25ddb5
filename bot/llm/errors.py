"""Map SDK exceptions (openai, anthropic) to `LLMError`; both SDKs share the same shapes."""

from __future__ import annotations

import email.utils
import time
from types import ModuleType

from bot.llm.types import LLMError, LLMErrorKind


def map_sdk_error(exc: BaseException, sdk: ModuleType) -> LLMError:
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, sdk.APITimeoutError):
        return LLMError(LLMErrorKind.TIMEOUT, "the provider did not answer in time")
    if isinstance(exc, sdk.APIConnectionError):
        return LLMError(LLMErrorKind.CONNECTION, str(exc) or "connection failed")
    if isinstance(exc, sdk.APIStatusError):
        return _from_status(exc.status_code, str(exc.message), exc.response.headers)
    return _from_transport(exc)


def _from_status(status: int, message: str, headers: object) -> LLMError:
    retry_after = parse_retry_after(getattr(headers, "get", lambda _k: None)("retry-after"))
    if status == 429:
        kind = LLMErrorKind.RATE_LIMITED
    elif status in (401, 403):
        kind = LLMErrorKind.AUTH
    elif status >= 500 or status in (408, 409):
        kind = LLMErrorKind.UNAVAILABLE
    else:
        kind = LLMErrorKind.REJECTED
    return LLMError(kind, message[:300], retry_after=retry_after, status=status)


def _from_transport(exc: BaseException) -> LLMError:
    """Errors raised by the HTTP layer while a stream's body is read (the providers read it
    themselves, so the SDKs do not wrap them); anyio's EndOfStream is a TLS connection cut."""
    name = type(exc).__name__
    if "Timeout" in name:
        return LLMError(LLMErrorKind.TIMEOUT, "the provider stopped sending in time")
    if isinstance(exc, OSError) or any(
        k in name for k in ("Protocol", "Read", "Connect", "Network", "EndOfStream")
    ):
        return LLMError(LLMErrorKind.CONNECTION, f"{name}: {exc}")
    return LLMError(LLMErrorKind.REJECTED, f"{name}: {exc}")


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())
