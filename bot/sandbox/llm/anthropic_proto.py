"""Anthropic Messages wire format (``POST /v1/messages``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.sandbox.llm.dialect import (
    Dialect,
    Tally,
    bearer_token,
    last_user_text,
    positive_int,
    require_messages,
)
from bot.sandbox.llm.plan import (
    SSE,
    ParsedRequest,
    Plan,
    ProtocolError,
    StreamScript,
    split_fragments,
)
from bot.sandbox.llm.script import ToolCall

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _tool_id(call: ToolCall, seq: int, index: int) -> str:
    return call.id or f"toolu_sandbox{seq:06d}x{index}"


def _tool_input(call: ToolCall) -> object:
    """The parsed arguments; malformed JSON is passed through as the raw string."""
    try:
        return json.loads(call.arguments)
    except ValueError:
        return call.arguments


def _system_tally(system: object, tally: Tally) -> None:
    if system is None:
        return
    if not isinstance(system, str | list):
        raise ProtocolError(400, "'system' must be a string or an array of text blocks.")
    tally.add_content(system)


def _event(kind: str, payload: dict[str, Any], *, delta: bool = False) -> SSE:
    return SSE(json.dumps({"type": kind, **payload}), event=kind, delta=delta)


class AnthropicDialect(Dialect):
    name = "anthropic"
    request_id_header = "request-id"

    def api_key(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("x-api-key", "").strip() or bearer_token(headers)

    def parse(self, body: object) -> ParsedRequest:
        body, model, messages = require_messages(body)
        limit = positive_int(body, "max_tokens")
        if limit is None:
            raise ProtocolError(400, "max_tokens: Field required")
        tally = Tally()
        _system_tally(body.get("system"), tally)
        for message in messages:
            tally.add_content(message.get("content"))
        return ParsedRequest(
            model=model,
            stream=bool(body.get("stream")),
            last_user_text=last_user_text(messages),
            input_tokens=tally.tokens,
            max_tokens=limit,
        )

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def completion(self, plan: Plan, seq: int, created: int) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if plan.text:
            content.append({"type": "text", "text": plan.text})
        content += [
            {"type": "tool_use", "id": _tool_id(c, seq, i), "name": c.name, "input": _tool_input(c)}
            for i, c in enumerate(plan.tool_calls)
        ]
        return _message(plan, seq, content, _STOP_REASONS[plan.finish], plan.output_tokens)

    def stream(self, plan: Plan, request: ParsedRequest, seq: int, created: int) -> StreamScript:
        start = _message(plan, seq, [], None, 1)
        head = (_event("message_start", {"message": start}), _event("ping", {}))
        body: list[SSE] = []
        if plan.chunks:
            deltas = [{"type": "text_delta", "text": piece} for piece in plan.chunks]
            body += _block(0, {"type": "text", "text": ""}, deltas)
        for i, call in enumerate(plan.tool_calls):
            block = {"type": "tool_use", "id": _tool_id(call, seq, i), "name": call.name}
            fragments = split_fragments(call.arguments, plan.fragment_chars)
            deltas = [{"type": "input_json_delta", "partial_json": f} for f in fragments]
            body += _block(_index(body), {**block, "input": {}}, deltas)
        stop = {"stop_reason": _STOP_REASONS[plan.finish], "stop_sequence": None}
        body.append(_event("message_delta", {"delta": stop, "usage": _delta_usage(plan)}))
        body.append(_event("message_stop", {}))
        return StreamScript(head=head, body=tuple(body))


def _index(events: list[SSE]) -> int:
    """The index of the next content block: the number of blocks already closed."""
    return sum(1 for e in events if e.event == "content_block_stop")


def _block(index: int, start: dict[str, Any], deltas: list[dict[str, Any]]) -> list[SSE]:
    events = [_event("content_block_start", {"index": index, "content_block": start})]
    events += [
        _event("content_block_delta", {"index": index, "delta": d}, delta=True) for d in deltas
    ]
    events.append(_event("content_block_stop", {"index": index}))
    return events


def _delta_usage(plan: Plan) -> dict[str, int]:
    return {"input_tokens": plan.input_tokens, "output_tokens": plan.output_tokens}


def _message(
    plan: Plan, seq: int, content: list[dict[str, Any]], stop: str | None, output_tokens: int
) -> dict[str, Any]:
    return {
        "id": f"msg_sandbox{seq:06d}",
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": plan.input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
