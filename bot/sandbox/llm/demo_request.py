"""What the demo model reads from a request, in either protocol (OpenAI or Anthropic).

The request is reduced to a :class:`Conversation`: the system prompt (also when a model without
a system role got it merged into the first user turn), the last user message's text, images
and documents, the tool results being answered, the tools offered, and whether structured
output was asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MERGED_SYSTEM_SEPARATOR = "\n\n---\n\n"  # bot.llm.adapt.SYSTEM_MERGE_TEMPLATE
_DOCUMENT_TAG = re.compile(
    r'<document name="([^"]*)"(?: pages="(\d+)")?>\n?(.*?)(?:</document>|$)', re.S
)
_DATA_URL = re.compile(r"^data:([^;,]+)?(?:;[^,]*)?,(.*)$", re.S)


@dataclass(frozen=True)
class Attachment:
    """An image or a document the model received (``data`` for binary blocks)."""

    kind: str  # "image", "pdf" or "text"
    name: str = ""
    data: bytes = b""
    text: str = ""
    pages: int | None = None
    scanned: int = 0  # pages that came as images (a scanned document)


@dataclass
class Conversation:
    system: str = ""
    user_text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    tool_results: list[tuple[str, str]] = field(default_factory=list)  # (tool name, result)
    tools: frozenset[str] = frozenset()
    may_call_tools: bool = True
    schema: Mapping[str, Any] | None = None
    history_text: str = ""  # every text of the conversation (for URLs seen earlier)
    answers: int = 0  # assistant messages before this request


def _decode(data: object) -> bytes:
    if not isinstance(data, str):
        return b""
    match = _DATA_URL.match(data)
    payload = match.group(2) if match else data
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return b""


def _texts(content: object) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [
        str(b.get("text"))
        for b in content
        if isinstance(b, Mapping) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]


def _blocks(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return []
    return [dict(b) for b in content if isinstance(b, Mapping)]


def _unmerge_system(blocks: list[dict[str, Any]]) -> str:
    """A system prompt merged atop the first user turn (models without a system role)."""
    for block in blocks:
        text = block.get("text")
        if block.get("type") == "text" and isinstance(text, str):
            if MERGED_SYSTEM_SEPARATOR in text:
                system, block["text"] = text.split(MERGED_SYSTEM_SEPARATOR, 1)
                return system
            return ""
    return ""


def _scan(blocks: list[dict[str, Any]]) -> tuple[str, list[Attachment], list[Attachment]]:
    """(the user's own text, pinned documents, binary attachments) of one user message.

    A pinned document is ``<document name=... pages=...>`` text, with its pages as images in
    between when it is a scan; those images belong to the document, not to the message.
    """
    text = ""
    scanned = 0
    binary: list[Attachment] = []
    for block in blocks:
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            text += block["text"] if text.endswith("\n") or not text else "\n" + block["text"]
            continue
        attachment = _binary_block(block)
        if attachment is None:
            continue
        inside = text.count("<document ") > text.count("</document>")
        if inside and attachment.kind == "image":
            scanned += 1
        else:
            binary.append(attachment)
    documents = [
        Attachment("text", name, text=body, pages=int(pages) if pages else None, scanned=scanned)
        for name, pages, body in _DOCUMENT_TAG.findall(text)
    ]
    return _DOCUMENT_TAG.sub("", text).strip(), documents, binary


def _binary_block(block: Mapping[str, Any]) -> Attachment | None:
    kind = block.get("type")
    if kind == "image_url":  # OpenAI
        url = block.get("image_url")
        return Attachment(
            "image", data=_decode(url.get("url") if isinstance(url, Mapping) else url)
        )
    if kind == "file":  # OpenAI PDF
        file = block.get("file")
        if isinstance(file, Mapping):
            name = str(file.get("filename") or "document.pdf")
            return Attachment("pdf", name, data=_decode(file.get("file_data")))
    source = block.get("source")
    if kind in ("image", "document") and isinstance(source, Mapping):  # Anthropic
        if source.get("type") == "text":
            return Attachment("text", str(block.get("title") or ""), text=str(source.get("data")))
        data = _decode(source.get("data"))
        name = str(block.get("title") or "document.pdf")
        return Attachment("image", data=data) if kind == "image" else Attachment("pdf", name, data)
    return None


def _tool_result_text(content: object) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(_texts(content))


def _calls_by_id(messages: list[Mapping[str, Any]]) -> dict[str, str]:
    """Tool call id -> tool name, from the assistant messages of either protocol."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                names[str(call.get("id"))] = str(function.get("name"))
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, Mapping) and block.get("type") == "tool_use":
                names[str(block.get("id"))] = str(block.get("name"))
    return names


def _pending_tool_results(messages: list[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The results at the end of the conversation (what the model must now answer from)."""
    names = _calls_by_id(messages)
    results: list[tuple[str, str]] = []
    for message in reversed(messages):
        if message.get("role") == "tool":  # OpenAI: one message per result
            call = str(message.get("tool_call_id"))
            results.insert(0, (names.get(call, "tool"), _tool_result_text(message.get("content"))))
            continue
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, list):
            blocks = [
                b for b in content if isinstance(b, Mapping) and b.get("type") == "tool_result"
            ]
            for block in blocks:
                name = names.get(str(block.get("tool_use_id")), "tool")
                results.append((name, _tool_result_text(block.get("content"))))
        break
    return results


def _schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping):
        spec = response_format.get("json_schema")
        if isinstance(spec, Mapping) and isinstance(spec.get("schema"), Mapping):
            return spec["schema"]  # type: ignore[no-any-return]
    config = body.get("output_config")
    if isinstance(config, Mapping) and isinstance(config.get("format"), Mapping):
        schema = config["format"].get("schema")
        return schema if isinstance(schema, Mapping) else None
    return None


def _tools(body: Mapping[str, Any]) -> tuple[frozenset[str], bool]:
    names = set()
    for tool in body.get("tools") or []:
        if not isinstance(tool, Mapping):
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool.get("name")
        if isinstance(name, str):
            names.add(name)
    choice = body.get("tool_choice")
    choice_type = choice.get("type") if isinstance(choice, Mapping) else choice
    return frozenset(names), choice_type != "none"


def read_request(body: Mapping[str, Any]) -> Conversation:
    """The parts of a chat request the demo model answers from."""
    raw = body.get("messages")
    messages = [m for m in raw if isinstance(m, Mapping)] if isinstance(raw, list) else []
    conv = Conversation(schema=_schema(body))
    conv.tools, conv.may_call_tools = _tools(body)
    system = [
        t
        for m in messages
        if m.get("role") in ("system", "developer")
        for t in _texts(m.get("content"))
    ]
    system += _texts(body.get("system"))
    conv.system = "\n\n".join(system)
    conv.answers = sum(1 for m in messages if m.get("role") == "assistant")
    conv.tool_results = _pending_tool_results(messages)
    user_turns = [m for m in messages if m.get("role") == "user"]
    all_texts: list[str] = []
    for index, message in enumerate(user_turns):
        blocks = _blocks(message.get("content"))
        if index == 0 and not conv.system:
            conv.system = _unmerge_system(blocks)
        plain, documents, binary = _scan(blocks)
        conv.attachments += documents + [a for a in binary if a.kind != "image"]
        if index == len(user_turns) - 1:
            conv.user_text = plain
            conv.attachments += [a for a in binary if a.kind == "image"]
        all_texts.append(plain)
    all_texts += [r for _, r in conv.tool_results]
    for message in messages:
        if message.get("role") in ("assistant", "tool"):
            all_texts += _texts(message.get("content"))
    conv.history_text = "\n".join(all_texts)
    return conv


def schema_enum(schema: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """The first string property with an enum (the routing judge's ``route``)."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return None
    for name, spec in properties.items():
        if isinstance(spec, Mapping) and isinstance(spec.get("enum"), list):
            return str(name), [str(v) for v in spec["enum"]]
    return None


def to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
