"""define_tool: the schema the model sees comes from the signature and the docstring, and bad
arguments are refused with a reason naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from bot.tools.base import ToolContext, ToolError, define_tool


class Ctx:
    user_id: int | None = 1
    chat_id: int = 2

    async def send_photo(self, data: bytes, caption: str) -> None:
        raise AssertionError("not expected")

    @asynccontextmanager
    async def charge(self, action: str) -> AsyncIterator[None]:
        yield


class Dummy:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def web_search(
        self,
        ctx: ToolContext,
        query: Annotated[str, Field(description="Keywords to look for.")],
        count: Annotated[int, Field(description="How many results.", ge=1, le=10)] = 3,
        mode: Annotated[Literal["news", "web"], Field(description="Where to look.")] = "web",
    ) -> str:
        """Search the web.

        Returns a list."""
        self.calls.append({"ctx": ctx, "query": query, "count": count, "mode": mode})
        return f"{query}/{count}/{mode}"


def _keys(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        return set(schema) | {k for v in schema.values() for k in _keys(v)}
    if isinstance(schema, list):
        return {k for v in schema for k in _keys(v)}
    return set()


def test_schema_comes_from_signature_and_docstring() -> None:
    tool = define_tool(Dummy().web_search, name="web_search", status_key="s", timeout=5)
    params = tool.spec.parameters

    assert tool.spec.description == "Search the web.\n\nReturns a list."
    assert params["type"] == "object"
    assert set(params["properties"]) == {"query", "count", "mode"}  # no ctx
    assert params["required"] == ["query"]
    assert params["properties"]["query"] == {
        "type": "string",
        "description": "Keywords to look for.",
    }
    assert params["properties"]["count"]["maximum"] == 10
    assert params["properties"]["mode"]["enum"] == ["news", "web"]
    assert params["additionalProperties"] is False
    assert "title" not in _keys(params)
    assert (tool.name, tool.status_key, tool.timeout) == ("web_search", "s", 5)


async def test_call_validates_and_passes_ctx_and_defaults() -> None:
    dummy = Dummy()
    tool = define_tool(dummy.web_search, name="web_search", status_key="s", timeout=5)
    ctx = Ctx()

    assert await tool.call(ctx, {"query": "otters", "count": "4"}) == "otters/4/web"
    assert dummy.calls[0]["ctx"] is ctx


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"query": "a", "extra": 1}, "extra: Extra inputs are not permitted"),
        ({}, "query: Field required"),
        ({"query": 5}, "query: Input should be a valid string"),
        ({"query": "a", "count": 11}, "count: Input should be less than or equal to 10"),
        ({"query": "a", "mode": "images"}, "mode: Input should be 'news' or 'web'"),
    ],
)
async def test_bad_arguments_are_refused_naming_the_field(
    raw: dict[str, Any], expected: str
) -> None:
    dummy = Dummy()
    tool = define_tool(dummy.web_search, name="web_search", status_key="s", timeout=5)

    with pytest.raises(ToolError, match="invalid arguments") as caught:
        await tool.call(Ctx(), raw)

    assert expected in str(caught.value)
    assert dummy.calls == []


def test_unknown_names_and_missing_docstrings_are_refused() -> None:
    async def nameless(ctx: ToolContext) -> str:
        return ""

    with pytest.raises(ValueError, match="unknown tool name"):
        define_tool(Dummy().web_search, name="shell", status_key="s", timeout=1)
    with pytest.raises(ValueError, match="docstring"):
        define_tool(nameless, name="calculator", status_key="s", timeout=1)
