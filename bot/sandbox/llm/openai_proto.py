"""OpenAI Chat Completions wire format (``POST /v1/chat/completions``)."""

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

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def _call_id(call: ToolCall, seq: int, index: int) -> str:
    return call.id or f"call_sandbox{seq:06d}x{index}"


def _usage(plan: Plan) -> dict[str, int]:
    return {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.input_tokens + plan.output_tokens,
    }


def _prompt_tally(messages: list[Mapping[str, Any]]) -> Tally:
    tally = Tally()
    for message in messages:
        tally.add_content(message.get("content"))
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                tally.add_text(function.get("name"))
                tally.add_text(function.get("arguments"))
    return tally


class OpenAIDialect(Dialect):
    name = "openai"
    request_id_header = "x-request-id"

    def api_key(self, headers: Mapping[str, str]) -> str | None:
        return bearer_token(headers)

    def parse(self, body: object) -> ParsedRequest:
        body, model, messages = require_messages(body)
        limit = positive_int(body, "max_completion_tokens") or positive_int(body, "max_tokens")
        options = body.get("stream_options")
        if options is not None and not isinstance(options, Mapping):
            raise ProtocolError(400, "'stream_options' must be an object.")
        if options and not body.get("stream"):
            raise ProtocolError(400, "'stream_options' is only allowed when 'stream' is true.")
        return ParsedRequest(
            model=model,
            stream=bool(body.get("stream")),
            last_user_text=last_user_text(messages),
            input_tokens=_prompt_tally(messages).tokens,
            max_tokens=limit,
            include_usage=bool(options and options.get("include_usage")),
        )

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def completion(self, plan: Plan, seq: int, created: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": plan.text if plan.text or not plan.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if plan.tool_calls:
            message["tool_calls"] = [
                {
                    "id": _call_id(call, seq, i),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for i, call in enumerate(plan.tool_calls)
            ]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish}
        return {
            **_envelope(plan, seq, created, "chat.completion"),
            "choices": [choice],
            "usage": _usage(plan),
        }

    def stream(self, plan: Plan, request: ParsedRequest, seq: int, created: int) -> StreamScript:
        envelope = _envelope(plan, seq, created, "chat.completion.chunk")
        if request.include_usage:
            envelope["usage"] = None

        def chunk(delta: dict[str, Any], finish: str | None = None, *, is_delta: bool) -> SSE:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return SSE(json.dumps({**envelope, "choices": [choice]}), delta=is_delta)

        events = [chunk({"role": "assistant", "content": "", "refusal": None}, is_delta=False)]
        events += [chunk({"content": piece}, is_delta=True) for piece in plan.chunks]
        for index, call in enumerate(plan.tool_calls):
            deltas = _tool_deltas(plan, seq, index, call)
            events += [chunk({"tool_calls": [d]}, is_delta=True) for d in deltas]
        events.append(chunk({}, plan.finish, is_delta=False))
        if request.include_usage:
            final = {**envelope, "choices": [], "usage": _usage(plan)}
            events.append(SSE(json.dumps(final)))
        events.append(SSE("[DONE]"))
        return StreamScript(head=(), body=tuple(events))


def _envelope(plan: Plan, seq: int, created: int, obj: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-sandbox{seq:06d}",
        "object": obj,
        "created": created,
        "model": plan.model,
        "system_fingerprint": "fp_sandbox",
        "service_tier": "default",
    }


def _tool_deltas(plan: Plan, seq: int, index: int, call: ToolCall) -> list[dict[str, Any]]:
    """The ``tool_calls`` entries streamed for one call: a header then argument fragments."""
    head = {"index": index, "id": _call_id(call, seq, index), "type": "function"}
    fragments = split_fragments(call.arguments, plan.fragment_chars)
    if plan.repeat_name:
        return [{**head, "function": {"name": call.name, "arguments": f}} for f in fragments]
    first = {**head, "function": {"name": call.name, "arguments": ""}}
    return [first] + [{"index": index, "function": {"arguments": f}} for f in fragments]
