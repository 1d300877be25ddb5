"""Tools as typed async functions: the schema comes from the signature, the description from
the docstring, and arguments are validated by the same pydantic model before the call.

A tool function takes the turn's `ToolContext` as `ctx` and its arguments as keyword
parameters annotated with `Annotated[type, Field(description=...)]`; it returns text for the
model or raises `ToolError` with a reason the model can act on.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from bot.llm.types import ToolSpec
from bot.tools.names import BUILTIN_TOOLS, BuiltinToolName

ToolName = BuiltinToolName
TOOL_NAMES: tuple[str, ...] = BUILTIN_TOOLS
"""Every built-in tool (offered only where configured and allowed); MCP servers add theirs."""


class ToolError(Exception):
    """A failure the model should read: the message says what went wrong and what to do."""


class ToolContext(Protocol):
    """What a running tool may know and do in the turn that called it."""

    @property
    def user_id(self) -> int | None: ...

    @property
    def chat_id(self) -> int: ...

    async def send_photo(self, data: bytes, caption: str) -> None:
        """Send a picture to the chat (generated images)."""

    def charge(self, action: str) -> AbstractAsyncContextManager[None]:
        """Count one costly action against the user's plan while the block runs: raises
        ToolError when the plan's limit is reached; released when the block fails."""


ToolFunction = Callable[..., Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool: what the model sees (`spec`), how to run it, what the user sees meanwhile.

    Built-in tools validate their arguments with the model made from their signature. A tool
    without one (`arguments` None: an MCP server's, which validates its own) gets the
    arguments as one dict: `function(ctx, arguments)`.
    """

    spec: ToolSpec
    function: ToolFunction
    arguments: type[BaseModel] | None
    status_key: str  # locale key of the short status shown while it runs
    timeout: float
    label: str = ""  # what people see: the built-in name, or `server.tool`
    server: str | None = None  # the MCP server it comes from; None: built in
    status_args: tuple[tuple[str, str], ...] = ()  # the status message's arguments

    @property
    def name(self) -> str:
        """The name models call it by (provider-safe)."""
        return self.spec.name

    @property
    def display_name(self) -> str:
        return self.label or self.spec.name

    def validate(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the function; raises ToolError naming each bad field."""
        if self.arguments is None:
            return dict(raw)
        try:
            model = self.arguments.model_validate(dict(raw))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise ToolError(f"invalid arguments ({problems})") from None
        return {name: getattr(model, name) for name in type(model).model_fields}

    async def call(self, ctx: ToolContext, raw: Mapping[str, Any]) -> str:
        if self.arguments is None:
            return await self.function(ctx, dict(raw))
        return await self.function(ctx=ctx, **self.validate(raw))


def define_tool(function: ToolFunction, *, name: str, status_key: str, timeout: float) -> Tool:
    """A Tool from an async function (or bound method) with a `ctx` parameter."""
    if name not in TOOL_NAMES:
        raise ValueError(f"unknown tool name {name!r}")
    description = inspect.getdoc(function)
    if not description:
        raise ValueError(f"tool {name}: the function needs a docstring (the model reads it)")
    hints = get_type_hints(function, include_extras=True)
    fields: dict[str, Any] = {}
    for param in inspect.signature(function).parameters.values():
        if param.name == "ctx":
            continue
        if param.kind not in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD):
            raise ValueError(f"tool {name}: parameter {param.name} must be a named parameter")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints[param.name], default)
    model: type[BaseModel] = create_model(
        f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
    )
    schema = _without_titles(model.model_json_schema())
    schema.setdefault("properties", {})
    return Tool(
        spec=ToolSpec(name=name, description=description, parameters=schema),
        function=function,
        arguments=model,
        status_key=status_key,
        timeout=timeout,
    )


def _without_titles(schema: Any) -> Any:
    """Pydantic's generated titles only repeat the names; models read descriptions."""
    if isinstance(schema, dict):
        return {
            k: _without_titles(v)
            for k, v in schema.items()
            if not (k == "title" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [_without_titles(v) for v in schema]
    return schema
