"""`python -m bot tools list`: every tool the bot would offer, where it comes from, and which
routes and characters may use it. MCP servers are started, listed and stopped again."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping, Sequence

from bot.characters.catalog import CharacterCatalog
from bot.config import Settings
from bot.routing.routes import load_routes
from bot.tools.base import Tool
from bot.tools.executor import Toolbox
from bot.tools.names import ToolRule


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    tools = sub.add_parser("tools", parents=[common], help="the tools models may call")
    commands = tools.add_subparsers(dest="tools_command", required=True)
    commands.add_parser(
        "list",
        parents=[common],
        help="every tool (built in and from MCP servers) and the routes and characters using it",
    )


def run(settings: Settings, env: Mapping[str, str]) -> int:
    for line in asyncio.run(_lines(settings, env)):
        print(line)
    return 0


async def _lines(settings: Settings, env: Mapping[str, str]) -> list[str]:
    if not settings.tools.enabled:
        return ["tools are off ([tools] enabled = false)"]
    from bot.tools.setup import build_tools  # openai and the tools' clients: only when listing

    toolset = build_tools(settings, env)
    try:
        await toolset.start()
        assert toolset.toolbox is not None  # tools are enabled
        rules = await asyncio.to_thread(_rules, settings)
        return table(toolset.toolbox, *rules)
    finally:
        await toolset.close()


Rules = dict[str, ToolRule]


def _rules(settings: Settings) -> tuple[Rules | None, Rules]:
    """The routes' rules (None when routing is off) and the characters' (blocking reads)."""
    routes: Rules | None = None
    if settings.routing.enabled:
        book = load_routes(settings.routing.routes_dir, default=settings.routing.default_route)
        routes = {r.id: ToolRule(r.tools, r.deny_tools) for r in book.routes.values()}
    catalog = CharacterCatalog(settings.characters.directory, tool_servers=settings.mcp.servers)
    catalog.scan()
    characters = {c.id: ToolRule(c.tools, c.deny_tools) for c in catalog.all("en")}
    return routes, characters


def table(toolbox: Toolbox, routes: Rules | None, characters: Rules) -> list[str]:
    rows = [("TOOL", "ORIGIN", "MODELS CALL IT", "ROUTES", "CHARACTERS")]
    origins = {group.server: group for group in toolbox.groups()}
    for tool in toolbox.select().values():
        origin = "built in"
        if tool.server is not None:
            group = origins[tool.server]
            origin = f"MCP {group.server} ({group.transport})"
        rows.append(
            (
                tool.display_name,
                origin,
                tool.name,
                "all (routing off)" if routes is None else _who(routes, tool),
                _who(characters, tool),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    for group in origins.values():
        if not group.available:
            lines.append(f"MCP {group.server}: not available ({group.problem}); no tools listed")
    return [line.rstrip() for line in lines]


def _who(rules: Rules, tool: Tool) -> str:
    allowed = [name for name, rule in rules.items() if rule.permits(tool.display_name, tool.server)]
    return _summary(allowed, [name for name in rules if name not in allowed])


def _summary(allowed: Sequence[str], refused: Sequence[str]) -> str:
    if not refused:
        return "all"
    if not allowed:
        return "none"
    if len(refused) < len(allowed):
        return "all but " + ", ".join(refused)
    return ", ".join(allowed)
