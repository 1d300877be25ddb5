"""Provider-neutral request and stream-event types. No SDK and no aiogram types here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image sent inline (base64 on the wire), already converted to a type models accept."""

    data: bytes
    media_type: str = "image/jpeg"


@dataclass(frozen=True, slots=True)
class DocumentPart:
    """A PDF sent as itself, to models that read PDFs natively (`pdf_native`)."""

    data: bytes
    name: str
    media_type: str = "application/pdf"


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A call the model made; `arguments` is the JSON text as the model wrote it (maybe
    malformed: the tool's error result tells the model so)."""

    id: str
    name: str
    arguments: str

    def parsed(self) -> dict[str, Any] | None:
        """The arguments as an object, or None when they are not a JSON object."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def arguments_json(self) -> str:
        """Arguments safe to send back (servers parse replayed arguments): malformed become
        `{}`; the error result next to the call says what was wrong."""
        parsed = self.parsed()
        return self.arguments if parsed is not None and self.arguments else json.dumps(parsed or {})


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """What a tool returned for the call `call_id`, as text for the model."""

    call_id: str
    name: str
    content: str
    is_error: bool = False


Part = TextPart | ImagePart | DocumentPart | ToolCallPart | ToolResultPart
"""Content parts of a turn: an assistant turn may hold tool calls, the user turn after it
their results."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as models see it: name, description and a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Turn:
    role: Literal["user", "assistant"]
    parts: tuple[Part, ...]

    @classmethod
    def text(cls, role: Literal["user", "assistant"], text: str) -> Turn:
        return cls(role, (TextPart(text),))

    @property
    def plain_text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def images(self) -> tuple[ImagePart, ...]:
        return tuple(p for p in self.parts if isinstance(p, ImagePart))

    @property
    def is_plain(self) -> bool:
        """Only text: providers may send it as a single string."""
        return all(isinstance(p, TextPart) for p in self.parts)

    @property
    def tool_calls(self) -> tuple[ToolCallPart, ...]:
        return tuple(p for p in self.parts if isinstance(p, ToolCallPart))

    @property
    def tool_results(self) -> tuple[ToolResultPart, ...]:
        return tuple(p for p in self.parts if isinstance(p, ToolResultPart))


@dataclass(frozen=True, slots=True)
class ResponseSchema:
    """Constrain the answer to JSON matching `schema` (structured output).

    OpenAI-compatible servers (vLLM included) get `response_format: json_schema`; Anthropic gets
    `output_config.format` (its native structured outputs).
    """

    name: str
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    turns: tuple[Turn, ...]
    system: str | None = None
    max_output_tokens: int = 1024
    temperature: float | None = None
    top_p: float | None = None
    response_schema: ResponseSchema | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "none"] = "auto"
    """"none": the tools stay defined (history holds calls) but the model must answer."""

    @property
    def uses_tools(self) -> bool:
        return bool(self.tools)

    @property
    def attachment_bytes(self) -> int:
        """Bytes of images and documents: large ones are encoded off the event loop."""
        return sum(
            len(part.data)
            for turn in self.turns
            for part in turn.parts
            if isinstance(part, ImagePart | DocumentPart)
        )


class FinishReason(StrEnum):
    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as reported by the provider (never estimated locally)."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason


StreamEvent = TextDelta | ToolCallPart | Usage | Finish
"""A ToolCallPart is yielded once the call is complete (its arguments assembled)."""


class LLMErrorKind(StrEnum):
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    CONNECTION = "connection"
    AUTH = "auth"
    REJECTED = "rejected"
    INTERRUPTED = "interrupted"


RETRYABLE = frozenset(
    {LLMErrorKind.RATE_LIMITED, LLMErrorKind.UNAVAILABLE, LLMErrorKind.CONNECTION}
)


@dataclass(slots=True)
class LLMError(Exception):
    """A provider failed. `kind` decides retries and the user-facing message."""

    kind: LLMErrorKind
    detail: str = ""
    retry_after: float | None = None
    status: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.kind.value}{status}: {self.detail}"

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE
