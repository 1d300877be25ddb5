"""Scripted replies, faults and timing knobs of the sandbox LLM server.

Everything here is protocol-agnostic: the OpenAI and Anthropic dialects turn a
:class:`ReplyEntry` (or the default reply) into wire format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

FaultKind = Literal["status", "hang", "disconnect"]
PROTOCOLS = ("openai", "anthropic")


class ScriptError(ValueError):
    """A reply entry, fault or knob setting is malformed."""


@dataclass(frozen=True)
class ToolCall:
    """One tool call of a scripted reply; ``arguments`` is raw JSON text (maybe malformed)."""

    name: str
    arguments: str
    id: str | None = None


@dataclass
class ReplyEntry:
    """One scripted reply; ``times`` <= 0 means it never runs out."""

    text: str = ""
    chunks: tuple[str, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Mapping[str, int] = field(default_factory=dict)
    model: str | None = None
    match: str | None = None
    times: int = 1
    repeat_name_in_chunks: bool = False

    def matches(self, model: str, last_user_text: str) -> bool:
        if self.model is not None and self.model != model:
            return False
        return self.match is None or self.match.casefold() in last_user_text.casefold()


@dataclass
class Fault:
    """A failure injected into the next matching protocol request(s)."""

    kind: FaultKind
    status: int = 500
    retry_after: float | None = None
    times: int = 1
    model: str | None = None
    protocol: str | None = None
    after_chunks: int | None = None
    message: str | None = None

    def matches(self, model: str, protocol: str) -> bool:
        if self.model is not None and self.model != model:
            return False
        return self.protocol is None or self.protocol == protocol

    def hangs_before_reply(self, stream: bool) -> bool:
        """A hang without ``after_chunks`` (or on a non-streaming request) sends nothing."""
        return self.kind == "hang" and (not stream or self.after_chunks is None)


_ENTRY_KEYS = frozenset(
    {"text", "chunks", "tool_calls", "usage", "json", "model", "match", "times"}
    | {"repeat_name_in_chunks"}
)
_FAULT_KEYS = frozenset(
    {"kind", "status", "retry_after", "times", "model", "protocol", "after_chunks", "message"}
)
KNOB_KEYS = ("ttft_ms", "token_delay_ms", "chunk_chars")


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ScriptError(f"{key!r} must be a string")
    return value


def _int(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScriptError(f"{key!r} must be an integer")
    return value


def _check_keys(raw: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ScriptError(f"unknown {what} field(s): {', '.join(unknown)}")


def _parse_tool_call(raw: object) -> ToolCall:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise ScriptError("each tool call needs a string 'name'")
    args = raw.get("arguments", {})
    arguments = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return ToolCall(name=raw["name"], arguments=arguments, id=_opt_str(raw, "id"))


def _parse_text(raw: Mapping[str, Any]) -> tuple[str, tuple[str, ...] | None]:
    chunks = raw.get("chunks")
    if chunks is not None and (
        not isinstance(chunks, list) or not all(isinstance(c, str) for c in chunks)
    ):
        raise ScriptError("'chunks' must be a list of strings")
    if "json" in raw:
        text = json.dumps(raw["json"], ensure_ascii=False)
    elif chunks is not None and raw.get("text") is None:
        text = "".join(chunks)
    else:
        text = _opt_str(raw, "text") or ""
    if chunks is not None and "".join(chunks) != text:
        raise ScriptError("'chunks' must join to exactly the reply text")
    return text, None if chunks is None else tuple(chunks)


def parse_entry(raw: Mapping[str, Any]) -> ReplyEntry:
    """Validate one reply entry (the JSON shape of ``POST /control/script``)."""
    _check_keys(raw, _ENTRY_KEYS, "reply")
    if not {"text", "chunks", "json", "tool_calls"} & set(raw):
        raise ScriptError("a reply needs 'text', 'chunks', 'json' or 'tool_calls'")
    text, chunks = _parse_text(raw)
    tools = raw.get("tool_calls") or []
    if not isinstance(tools, list):
        raise ScriptError("'tool_calls' must be a list")
    usage = raw.get("usage") or {}
    if not isinstance(usage, Mapping) or not all(
        k in ("input_tokens", "output_tokens") and isinstance(v, int) for k, v in usage.items()
    ):
        raise ScriptError("'usage' may only hold integer input_tokens / output_tokens")
    return ReplyEntry(
        text=text,
        chunks=chunks,
        tool_calls=tuple(_parse_tool_call(t) for t in tools),
        usage=dict(usage),
        model=_opt_str(raw, "model"),
        match=_opt_str(raw, "match"),
        times=_int(raw, "times", 1),
        repeat_name_in_chunks=bool(raw.get("repeat_name_in_chunks", False)),
    )


def parse_entries(raw: Mapping[str, Any]) -> list[ReplyEntry]:
    """Accept one entry or ``{"replies": [...]}``."""
    if "replies" in raw:
        replies = raw["replies"]
        if len(raw) != 1 or not isinstance(replies, list):
            raise ScriptError("'replies' must be a list and the only field")
        return [parse_entry(_mapping(r)) for r in replies]
    return [parse_entry(raw)]


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScriptError("expected a JSON object")
    return value


def parse_fault(raw: Mapping[str, Any]) -> Fault:
    """Validate one fault (the JSON shape of ``POST /control/faults``)."""
    _check_keys(raw, _FAULT_KEYS, "fault")
    kind = raw.get("kind")
    if kind not in ("status", "hang", "disconnect"):
        raise ScriptError("'kind' must be 'status', 'hang' or 'disconnect'")
    protocol = _opt_str(raw, "protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        raise ScriptError("'protocol' must be 'openai' or 'anthropic'")
    status = _int(raw, "status", 500)
    if not 400 <= status <= 599:
        raise ScriptError("'status' must be an HTTP error status (400-599)")
    retry_after = raw.get("retry_after")
    if retry_after is not None and (
        isinstance(retry_after, bool) or not isinstance(retry_after, int | float)
    ):
        raise ScriptError("'retry_after' must be a number of seconds")
    after = raw.get("after_chunks", 0 if kind == "disconnect" else None)
    if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
        raise ScriptError("'after_chunks' must be a non-negative integer")
    return Fault(
        kind=kind,
        status=status,
        retry_after=retry_after,
        times=_int(raw, "times", 1),
        model=_opt_str(raw, "model"),
        protocol=protocol,
        after_chunks=after,
        message=_opt_str(raw, "message"),
    )


@dataclass(frozen=True)
class Knobs:
    """Resolved timing knobs for one request; ``chunk_chars`` None = split by words."""

    ttft_ms: float = 0.0
    token_delay_ms: float = 0.0
    chunk_chars: int | None = None


class KnobStore:
    """Global knobs plus per-model overrides; ``chunk_chars`` 0 or None means word mode."""

    def __init__(self) -> None:
        self._global: dict[str, float | int] = {}
        self._per_model: dict[str, dict[str, float | int]] = {}

    def update(self, values: Mapping[str, Any], model: str | None = None) -> None:
        _check_keys(values, frozenset(KNOB_KEYS), "knob")
        checked: dict[str, float | int] = {}
        for key, value in values.items():
            if key == "chunk_chars":
                value = 0 if value is None else value
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ScriptError("'chunk_chars' must be a non-negative integer or null")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ScriptError(f"{key!r} must be a non-negative number of milliseconds")
            checked[key] = value
        target = self._global if model is None else self._per_model.setdefault(model, {})
        target.update(checked)

    def resolve(self, model: str) -> Knobs:
        merged = {**self._global, **self._per_model.get(model, {})}
        chunk_chars = int(merged.get("chunk_chars", 0)) or None
        return Knobs(
            ttft_ms=float(merged.get("ttft_ms", 0.0)),
            token_delay_ms=float(merged.get("token_delay_ms", 0.0)),
            chunk_chars=chunk_chars,
        )

    def models(self) -> list[str]:
        return list(self._per_model)

    def clear(self) -> None:
        self._global.clear()
        self._per_model.clear()


class _Countable(Protocol):
    times: int


T = TypeVar("T", bound=_Countable)


class CountedQueue(Generic[T]):
    """FIFO whose items are used ``times`` times (<= 0: forever) when a predicate matches."""

    def __init__(self) -> None:
        self._items: list[T] = []

    def extend(self, items: Iterable[T]) -> None:
        self._items.extend(items)

    def take(self, predicate: Callable[[T], bool]) -> T | None:
        for index, item in enumerate(self._items):
            if not predicate(item):
                continue
            if item.times > 0:
                item.times -= 1
                if item.times == 0:
                    del self._items[index]
            return item
        return None

    def items(self) -> list[T]:
        return list(self._items)

    def clear(self) -> None:
        self._items.clear()
