"""What a model reads of an MCP tool's result: its text, and a note for what is not text.

A result is data for the model, never instructions to the bot: it goes back to the model as
the call's tool result (nothing else reads it), and it is cut here to `limit` characters
before the executor cuts it to the answer's budget, so a 5 MB result costs a slice.
Pictures, audio and binary resources are described, not passed on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from mcp_types import (
    AudioContent,
    CallToolResult,
    ContentBlock,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from bot.tools.base import ToolError


def result_text(result: CallToolResult, limit: int) -> str:
    """The result's text, at most `limit` + 1 characters (so that a cut shows); ToolError
    with the server's message when the tool reports an error."""
    pieces: list[str] = []
    size = 0
    for piece in _pieces(result):
        pieces.append(piece[: limit + 1 - size])
        size += len(pieces[-1]) + 2
        if size > limit:
            break
    text = "\n\n".join(pieces)[: limit + 1]
    if result.is_error:
        raise ToolError(text or "the tool reported an error without a message")
    return text or "(the tool returned nothing)"


def _pieces(result: CallToolResult) -> Iterator[str]:
    texts = False
    for block in result.content:
        texts = texts or isinstance(block, TextContent)
        yield _block(block)
    if not texts and result.structured_content is not None:
        yield json.dumps(result.structured_content, ensure_ascii=False)


def _block(block: ContentBlock) -> str:
    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, ImageContent | AudioContent):
        kind = "picture" if isinstance(block, ImageContent) else "audio"
        size = len(block.data) * 3 // 4
        return f"[a {kind} ({block.mime_type}, about {size} bytes), not shown]"
    if isinstance(block, ResourceLink):
        return f"[a link to the resource {block.name}: {block.uri}]"
    resource = block.resource  # an EmbeddedResource
    if isinstance(resource, TextResourceContents):
        return f"[resource {resource.uri}]\n{resource.text}"
    return f"[the resource {resource.uri} ({resource.mime_type or 'binary data'}), not shown]"
