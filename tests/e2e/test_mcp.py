"""Tools from MCP servers, end to end: the real bot starts the test suite's MCP server
(tests/mcp_server.py) over stdio as `local` and reaches the same server over streamable HTTP
on loopback as `remote`; the scripted model calls their tools. See `conftest.MCP_SETTINGS`
(restarts after 3 s) and `write_mcp_routes` (`#payroll` denies `local.*`)."""

from __future__ import annotations

import asyncio
import json
import re
import signal

import pytest

from tests.e2e.conftest import ADMIN_ID, Stack
from tests.e2e.test_chat import ask
from tests.e2e.test_tools import call, requests_for, script, tool_messages

pytestmark = pytest.mark.e2e

PROVIDER_SAFE = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def offered(request: dict[str, object]) -> dict[str, dict[str, object]]:
    body = request["body"]
    assert isinstance(body, dict)
    return {tool["function"]["name"]: tool["function"] for tool in body.get("tools", [])}


async def test_tools_shows_each_server_with_its_description(mcp_stack: Stack, user_id: int) -> None:
    menu = await ask(mcp_stack, user_id, "/tools")
    text = menu["text"]
    assert "Tools of the bot's servers:" in text
    assert "🔌 local: Local test tools — local.echo, local.add, local.slow, local.big" in text
    # No description in config.toml: the one the server gives of itself.
    assert "🔌 remote: Test tools: echo, sums, slow and big results — remote.echo" in text


async def test_two_tools_of_two_servers_run_at_once_and_return_their_results(
    mcp_stack: Stack, user_id: int
) -> None:
    marker = "two slow lookups m1"
    calls = [
        call("local__slow", {"seconds": 2, "tag": "L"}),
        call("remote__slow", {"seconds": 2, "tag": "R"}),
    ]
    script(mcp_stack, marker, {"text": "Looking.", "tool_calls": calls}, {"text": "Both done."})
    reply = await ask(mcp_stack, user_id, f"#chat {marker}")
    assert reply["text"] == "Looking.\n\nBoth done."
    first, second = requests_for(mcp_stack, marker)
    tools = offered(first)
    assert {"local__echo", "local__slow", "remote__slow", "calculator", "fetch_url"} <= set(tools)
    assert all(PROVIDER_SAFE.fullmatch(name) for name in tools)
    assert tools["local__add"]["description"] == "Add two whole numbers."
    parameters = tools["local__add"]["parameters"]
    assert isinstance(parameters, dict)
    assert parameters["required"] == ["a", "b"]
    assert [m["content"] for m in tool_messages(second)] == ["slept 2 s L", "slept 2 s R"]
    # One after the other they would take 4 s.
    assert second["received_mono"] - first["received_mono"] < 3.5
    drafts = [d["text"] for d in await mcp_stack.telegram.drafts(user_id)]
    assert any("🔌 Asking local… · 🔌 Asking remote…" in d for d in drafts), drafts


async def test_a_route_that_denies_a_server_never_offers_or_runs_its_tools(
    mcp_stack: Stack, user_id: int
) -> None:
    marker = "whose salary is highest m2"
    script(
        mcp_stack,
        marker,
        {"tool_calls": [call("local__echo", {"text": "sneaking in"})]},
        {"text": "I cannot look that up."},
    )
    reply = await ask(mcp_stack, user_id, f"#payroll {marker}")
    assert reply["text"] == "I cannot look that up."
    first, second = requests_for(mcp_stack, marker)
    names = set(offered(first))
    assert not [name for name in names if name.startswith("local__")], names
    assert {"remote__echo", "calculator"} <= names
    [result] = tool_messages(second)
    assert result["content"].startswith("Error: there is no tool named 'local__echo'")


async def test_the_server_process_gets_only_the_environment_it_is_given(
    mcp_stack: Stack, user_id: int
) -> None:
    marker = "which variables m3"
    script(
        mcp_stack,
        marker,
        {"tool_calls": [call("local__environment", {})]},
        {"text": "Listed."},
    )
    await ask(mcp_stack, user_id, f"#chat {marker}")
    _, second = requests_for(mcp_stack, marker)
    [result] = tool_messages(second)
    names = set(result["content"].split(", "))
    assert "E2E_MCP_VISIBLE" in names  # named in pass_env
    secrets = {"TELEGRAM_BOT_TOKEN", "E2E_OPENAI_KEY", "E2E_ANTHROPIC_KEY", "PAYMENTS_SECRET"}
    assert not names & secrets
    assert names <= {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LC_CTYPE"} | {
        "E2E_MCP_VISIBLE"
    }


async def test_a_five_megabyte_result_is_cut_to_the_budget(mcp_stack: Stack, user_id: int) -> None:
    marker = "the whole archive m4"
    script(
        mcp_stack,
        marker,
        {"tool_calls": [call("remote__big", {"megabytes": 5})]},
        {"text": "That was long."},
    )
    reply = await ask(mcp_stack, user_id, f"#chat {marker}")
    assert reply["text"] == "That was long."
    _, second = requests_for(mcp_stack, marker)
    [result] = tool_messages(second)
    content = result["content"]
    assert content.startswith("0123456789")
    cut = re.search(r"\n\[\.\.\. cut: the result was longer than (\d+) characters\]$", content)
    assert cut is not None, content[-200:]
    assert len(content) == int(cut.group(1)) + len(cut.group(0))
    assert int(cut.group(1)) <= 12_000  # [tools] max_result_chars
    assert len(json.dumps(second["body"])) < 60_000


async def test_a_server_killed_mid_call_gives_an_error_and_comes_back(
    mcp_stack: Stack, user_id: int
) -> None:
    await ask(mcp_stack, ADMIN_ID, "/start")  # Telegram lets a bot write only to users who did
    admin_before = len(await mcp_stack.telegram.bot_messages(ADMIN_ID))
    marker = "run the fragile tool m5"
    script(
        mcp_stack,
        marker,
        {"tool_calls": [call("local__die", {})]},
        {"text": "The tool broke; here is what I know."},
    )
    reply = await ask(mcp_stack, user_id, f"#chat {marker}")
    assert reply["text"] == "The tool broke; here is what I know."
    _, second = requests_for(mcp_stack, marker)
    [result] = tool_messages(second)
    assert result["content"].startswith("Error: the MCP server local stopped while running die")

    # Withdrawn from new requests at once (the restart waits 3 s).
    down = "while it is down m5"
    script(mcp_stack, down, {"text": "Fine."})
    await ask(mcp_stack, user_id, f"#chat {down}")
    [request] = requests_for(mcp_stack, down)
    names = set(offered(request))
    assert not [name for name in names if name.startswith("local__")], names
    assert "remote__echo" in names

    # The operators are told once that it is down, then that it is back.
    messages = await mcp_stack.telegram.wait_bot_messages(ADMIN_ID, admin_before + 2, timeout=40)
    told_down, told_back = (m["text"] for m in messages[admin_before:])
    assert told_down.startswith("🔌 The MCP server local is not available: ")
    assert told_back == "🔌 The MCP server local is back with 7 tools."

    back = "after it came back m5"
    script(
        mcp_stack,
        back,
        {"tool_calls": [call("local__echo", {"text": "hello again"})]},
        {"text": "It works again."},
    )
    assert (await ask(mcp_stack, user_id, f"#chat {back}"))["text"] == "It works again."
    _, second = requests_for(mcp_stack, back)
    assert tool_messages(second)[-1]["content"] == "echo: hello again"  # after the history's


async def test_sighup_reloads_the_servers_from_the_configuration(
    mcp_stack: Stack, user_id: int
) -> None:
    config = mcp_stack.bot.log_path.parent / "config.toml"
    original = config.read_text(encoding="utf-8")
    extra = original.replace("[mcp.servers.local]", "[mcp.servers.extra]", 1)
    extra = extra[extra.index("[mcp.servers.extra]") : extra.index("[mcp.servers.remote]")]
    config.write_text(original + "\n" + extra.replace('"local"]', '"extra"]'), encoding="utf-8")
    try:
        mcp_stack.bot.process.send_signal(signal.SIGHUP)
        text = ""
        for _ in range(100):
            text = (await ask(mcp_stack, user_id, "/tools"))["text"]
            if "🔌 extra: Local" in text:
                break
            await asyncio.sleep(0.2)
        assert "🔌 extra: Local test tools — extra.echo" in text
        assert "🔌 local: Local test tools — local.echo" in text  # still served
    finally:
        config.write_text(original, encoding="utf-8")
    marker = "from the new server m6"
    script(
        mcp_stack,
        marker,
        {"tool_calls": [call("extra__add", {"a": 1, "b": 2})]},
        {"text": "Three."},
    )
    await ask(mcp_stack, user_id, f"#chat {marker}")
    _, second = requests_for(mcp_stack, marker)
    assert tool_messages(second)[-1]["content"] == "1 + 2 = 3"
    assert mcp_stack.bot.process.returncode is None  # SIGHUP no longer ends the bot
