"""MCP tool names and references: `server.tool` for people, a provider-safe name for models,
and the allow/deny rules of routes and characters."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.characters.files import CharacterFileError, load_character
from bot.chat.tooling import offered_tools
from bot.llm.types import ToolSpec
from bot.routing.routes import RouteBook, RouteFileError, check_tool_servers, load_route
from bot.tools.base import Tool, ToolContext
from bot.tools.executor import Toolbox, ToolGroup, ToolLimits
from bot.tools.names import ToolRule, check_reference, wire_name

PROVIDER_SAFE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # OpenAI's and Anthropic's rule
ROOT = Path(__file__).parents[2]


def test_wire_names_are_provider_safe_and_distinct() -> None:
    taken: set[str] = set()
    names = []
    for tool in ["search", "pages.read", "pages_read", "ünïcode tool", "x" * 100, "y" * 100]:
        name = wire_name("wiki", tool, taken)
        taken.add(name)
        names.append(name)
    assert names[0] == "wiki__search"
    assert names[1] == "wiki__pages_read"
    assert names[2].startswith("wiki__pages_read-")  # a clash with names[1]: hashed
    assert names[3] == "wiki___n_code_tool"
    assert len(names[4]) == 64
    assert names[4].startswith("wiki__xxx")
    assert len(set(names)) == len(names)
    assert all(PROVIDER_SAFE.match(name) for name in names)


def test_wire_names_are_stable_for_the_same_listing() -> None:
    first = wire_name("db", "q" * 80, set())
    assert wire_name("db", "q" * 80, set()) == first
    assert wire_name("db2", "q" * 80, set()) != first


@pytest.mark.parametrize("reference", ["calculator", "wiki.search", "wiki.*", "a-b.pages.read"])
def test_references_accept_builtins_tools_and_servers(reference: str) -> None:
    assert check_reference(reference) == reference


@pytest.mark.parametrize("reference", ["teleport", "wiki", "Wiki.search", "wiki.", ".search"])
def test_references_refuse_anything_else(reference: str) -> None:
    with pytest.raises(ValueError, match="is not a tool: write one of web_search"):
        check_reference(reference)


def test_a_rule_allows_and_denies_by_name_and_by_server() -> None:
    rule = ToolRule(
        allow=frozenset({"calculator", "wiki.*", "db.query"}), deny=frozenset({"wiki.delete"})
    )
    assert rule.permits("calculator", None)
    assert rule.permits("wiki.search", "wiki")
    assert not rule.permits("wiki.delete", "wiki")
    assert rule.permits("db.query", "db")
    assert not rule.permits("db.drop", "db")
    assert not rule.permits("fetch_url", None)
    deny_only = ToolRule(deny=frozenset({"db.*"}))
    assert deny_only.permits("fetch_url", None)
    assert not deny_only.permits("db.query", "db")


async def _nothing(ctx: ToolContext, arguments: dict[str, Any]) -> str:
    return ""


def mcp_tool(server: str, name: str) -> Tool:
    return Tool(
        spec=ToolSpec(f"{server}__{name}", name, {"type": "object", "properties": {}}),
        function=_nothing,
        arguments=None,
        status_key="tool-status-mcp",
        timeout=5,
        label=f"{server}.{name}",
        server=server,
        status_args=(("server", server),),
    )


class Servers:
    def __init__(self, *tools: Tool) -> None:
        self._tools = tools

    def tools(self) -> list[Tool]:
        return list(self._tools)

    def groups(self) -> list[ToolGroup]:
        return []


def test_offered_tools_apply_the_route_and_character_rules_to_server_tools() -> None:
    from tests.unit.test_tool_loop import Tools  # the fake built-in tools

    builtin = list(Tools().all().values())
    servers = Servers(mcp_tool("wiki", "search"), mcp_tool("wiki", "delete"), mcp_tool("db", "q"))
    box = Toolbox(builtin, ToolLimits(3, 4, 1000), [servers])

    def offered(**rules: Any) -> set[str]:
        args = {"restrictions": (), "denials": ()} | rules
        return set(offered_tools(box, enabled=True, model_can=True, **args))

    everything = offered()
    assert {"wiki__search", "wiki__delete", "db__q"} <= everything
    wiki = {"wiki__search", "wiki__delete"}
    assert offered(denials=(frozenset({"wiki.*"}),)) == everything - wiki
    assert offered(restrictions=(frozenset({"wiki.*", "calculator"}),)) == {
        "wiki__search",
        "wiki__delete",
        "calculator",
    }
    assert offered(
        restrictions=(frozenset({"wiki.*"}), None), denials=(frozenset(), {"wiki.delete"})
    ) == {"wiki__search"}
    assert offered_tools(box, enabled=False, model_can=True, restrictions=()) == {}


def route_file(tmp_path: Path, extra: str) -> Path:
    text = (ROOT / "routes" / "chat.md").read_text(encoding="utf-8")
    path = tmp_path / "chat.md"
    path.write_text(text.replace("\nexamples:", f"\n{extra}\nexamples:", 1), encoding="utf-8")
    return path


def test_a_route_file_denies_tools_and_names_only_configured_servers(tmp_path: Path) -> None:
    path = route_file(tmp_path, "tools: [calculator, wiki.*]\ndeny_tools: [wiki.delete]")
    route = load_route(path)
    assert route.tools == frozenset({"calculator", "wiki.*"})
    assert route.deny_tools == frozenset({"wiki.delete"})
    book = RouteBook({"chat": route}, "chat", "x")
    check_tool_servers(book, ["wiki"])
    with pytest.raises(RouteFileError, match=r"chat.md: tools: wiki is not an MCP server .*db"):
        check_tool_servers(book, ["db"])
    typo = RouteBook({"chat": load_route(route_file(tmp_path, "deny_tools: [wkii.*]"))}, "c", "x")
    with pytest.raises(RouteFileError, match="deny_tools: wkii is not an MCP server"):
        check_tool_servers(typo, ["wiki"])
    with pytest.raises(RouteFileError, match="deny_tools"):
        load_route(route_file(tmp_path, "deny_tools: [teleport]"))


def test_a_character_file_denies_tools_of_configured_servers_only(tmp_path: Path) -> None:
    text = (ROOT / "characters" / "tutor.md").read_text(encoding="utf-8")
    path = tmp_path / "tutor.md"
    path.write_text(text.replace("\nrouting:", "\ndeny_tools: [db.*]\nrouting:", 1), "utf-8")
    assert load_character(path, tool_servers=["db"]).deny_tools == frozenset({"db.*"})
    assert load_character(path).deny_tools == frozenset({"db.*"})  # servers not known: syntax
    with pytest.raises(CharacterFileError, match=r"tutor.md: deny_tools: db is not an MCP"):
        load_character(path, tool_servers=["wiki"])


def test_tools_list_shows_origin_and_who_may_use_each_tool() -> None:
    from bot.tools.cli import table
    from tests.unit.test_tool_loop import Tools

    search, delete = mcp_tool("wiki", "search"), mcp_tool("wiki", "delete")

    class Wiki(Servers):
        def groups(self) -> list[ToolGroup]:
            return [
                ToolGroup("wiki", {"en": "Wiki"}, True, (search, delete), transport="stdio"),
                ToolGroup("db", {}, False, problem="the command was not found (db-mcp)"),
            ]

    calculator = Tools().all()["calculator"]
    box = Toolbox([calculator], ToolLimits(3, 4, 1000), [Wiki(search, delete)])
    routes = {
        "chat": ToolRule(),
        "code": ToolRule(deny=frozenset({"wiki.*"})),
        "math": ToolRule(allow=frozenset({"calculator"})),
    }
    characters = {"tutor": ToolRule(deny=frozenset({"wiki.delete"})), "poet": ToolRule()}
    lines = table(box, routes, characters)
    assert lines[0].split() == ["TOOL", "ORIGIN", "MODELS", "CALL", "IT", "ROUTES", "CHARACTERS"]
    rows = {line.split()[0]: line for line in lines[1:4]}
    assert rows["calculator"].split()[1:] == ["built", "in", "calculator", "all", "all"]
    assert rows["wiki.search"].split()[1:] == [
        "MCP",
        "wiki",
        "(stdio)",
        "wiki__search",
        "chat",
        "all",
    ]
    assert rows["wiki.delete"].split()[-1] == "poet"
    assert lines[4] == "MCP db: not available (the command was not found (db-mcp)); no tools listed"
    assert "all (routing off)" in table(box, None, characters)[1]
