"""Tool calling through the sandbox: the scripted LLM calls tools in both protocols and the
real bot runs them (calculator, clock, a fake SearXNG and web pages on loopback, images from
the scripted server), feeds the results back and delivers the answer. See
`conftest.TOOLS_SETTINGS` for the stack's configuration (at most 3 tool steps)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.sandbox.web import FakeWeb
from tests.e2e.conftest import Stack
from tests.e2e.test_chat import ask, count_bot_messages
from tests.e2e.test_groups import bot_username

pytestmark = pytest.mark.e2e


def call(name: str, arguments: Any, call_id: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "arguments": arguments}
    if call_id:
        entry["id"] = call_id
    return entry


def script(stack: Stack, marker: str, *replies: dict[str, Any], model: str = "gpt-tools") -> None:
    """Replies for the requests of one question, in order (each used once)."""
    for reply in replies:
        stack.llm.script(match=marker, model=model, **reply)


def requests_for(stack: Stack, marker: str) -> list[dict[str, Any]]:
    return [r for r in stack.llm.requests if marker in json.dumps(r["body"], ensure_ascii=False)]


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI protocol: the `tool` messages of a request."""
    return [m for m in request["body"]["messages"] if m["role"] == "tool"]


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Anthropic protocol: the tool_result blocks of a request."""
    return [
        block
        for message in request["body"]["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


async def select_model(stack: Stack, user_id: int, model_id: str) -> None:
    menu = await ask(stack, user_id, "/setmodel")
    await stack.telegram.press(user_id, user_id, menu["message_id"], f"model:{model_id}")
    for _ in range(200):
        [edited] = [
            m
            for m in await stack.telegram.bot_messages(user_id)
            if m["message_id"] == menu["message_id"]
        ]
        if edited["edits"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the model menu was not updated")


async def test_one_call_runs_and_the_answer_continues_after_it(
    tools_stack: Stack, user_id: int
) -> None:
    marker = "how much is twelve sevens q1"
    script(
        tools_stack,
        marker,
        {"text": "Let me calculate.", "tool_calls": [call("calculator", {"expression": "12*7"})]},
        {"text": "Twelve sevens are **84**."},
    )
    reply = await ask(tools_stack, user_id, marker)
    assert reply["text"] == "Let me calculate.\n\nTwelve sevens are 84."
    first, second = requests_for(tools_stack, marker)
    offered = {tool["function"]["name"] for tool in first["body"]["tools"]}
    assert offered == {"calculator", "current_time", "web_search", "fetch_url", "generate_image"}
    assert first["body"]["tool_choice"] == "auto"
    [assistant] = [m for m in second["body"]["messages"] if m.get("tool_calls")]
    assert assistant["content"] == "Let me calculate."
    [result] = tool_messages(second)
    assert result["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert result["content"] == "12*7 = 84"


async def test_two_calls_in_one_step_both_run_and_return_together_on_anthropic(
    tools_stack: Stack, user_id: int
) -> None:
    await select_model(tools_stack, user_id, "claude-tools")
    marker = "time in tokyo and 2^20 q2"
    calls = [
        call("current_time", {"timezone": "Asia/Tokyo"}, "toolu_time"),
        call("calculator", {"expression": "2^20"}, "toolu_calc"),
    ]
    script(
        tools_stack,
        marker,
        {"tool_calls": calls},
        {"text": "Done: both looked up."},
        model="claude-tools",
    )
    reply = await ask(tools_stack, user_id, marker)
    assert reply["text"] == "Done: both looked up."
    first, second = requests_for(tools_stack, marker)
    assert {t["name"] for t in first["body"]["tools"]} >= {"calculator", "current_time"}
    assert first["body"]["tool_choice"] == {"type": "auto"}
    results = tool_results(second)
    assert [r["tool_use_id"] for r in results] == ["toolu_time", "toolu_calc"]
    assert "+09:00" in results[0]["content"]
    assert results[1]["content"] == "2^20 = 1048576"
    assert not any(r["is_error"] for r in results)
    # Both results in one user message, right after the assistant's two tool_use blocks.
    messages = second["body"]["messages"]
    uses = [b["id"] for b in messages[-2]["content"] if b["type"] == "tool_use"]
    assert uses == ["toolu_time", "toolu_calc"]
    assert [b["type"] for b in messages[-1]["content"]] == ["tool_result", "tool_result"]


async def test_a_chain_of_three_steps_then_the_model_must_answer(
    tools_stack: Stack, user_id: int, web: FakeWeb
) -> None:
    marker = "find the kiwi harvest article and add 10 percent q3"
    web.script_search(
        "kiwi harvest",
        [{"url": f"{web.base_url}/pages/kiwi", "title": "Kiwi harvest", "content": "A record."}],
    )
    web.add_page("kiwi", ARTICLE)
    script(
        tools_stack,
        marker,
        {"tool_calls": [call("web_search", {"query": "kiwi harvest 2026"})]},
        {"tool_calls": [call("fetch_url", {"url": f"{web.base_url}/pages/kiwi"})]},
        {"tool_calls": [call("calculator", {"expression": "4200 * 1.1"})]},
        {"text": "The harvest was 4200 t; plus 10% is 4620 t."},
    )
    reply = await ask(tools_stack, user_id, marker)
    assert reply["text"] == "The harvest was 4200 t; plus 10% is 4620 t."
    requests = requests_for(tools_stack, marker)
    assert len(requests) == 4
    assert [r["body"]["tool_choice"] for r in requests] == ["auto", "auto", "auto", "none"]
    search, page, product = (m["content"] for m in tool_messages(requests[3]))
    assert f"{web.base_url}/pages/kiwi" in search
    assert "Kiwi harvest" in search
    assert "4200 tonnes" in page
    assert "cookie banner" not in page
    assert product == "4200 * 1.1 = 4620"


async def test_the_step_cap_holds_even_when_the_model_keeps_calling(
    tools_stack: Stack, user_id: int, web: FakeWeb
) -> None:
    marker = "keep searching forever q4"
    looping = [{"tool_calls": [call("calculator", {"expression": f"{n}+1"})]} for n in range(3)]
    script(
        tools_stack,
        marker,
        *looping,
        {"text": "Here is what I have.", "tool_calls": [call("web_search", {"query": "never"})]},
    )
    reply = await ask(tools_stack, user_id, marker)
    assert reply["text"] == "Here is what I have."
    await asyncio.sleep(0.3)
    assert len(requests_for(tools_stack, marker)) == 4  # 3 tool steps, then the answer
    assert not [path for path in web.requests if "/search" in path]  # the 4th call never ran


async def test_malformed_arguments_and_an_unknown_tool_become_error_results(
    tools_stack: Stack, user_id: int
) -> None:
    marker = "broken calls q5"
    broken = [call("calculator", '{"expression": "2+'), call("teleport", {"to": "Mars"})]
    script(tools_stack, marker, {"tool_calls": broken}, {"text": "Sorry, those failed."})
    reply = await ask(tools_stack, user_id, marker)
    assert reply["text"] == "Sorry, those failed."
    _, second = requests_for(tools_stack, marker)
    malformed, unknown = tool_messages(second)
    assert malformed["content"].startswith("Error: the arguments are not a JSON object")
    assert unknown["content"].startswith("Error: there is no tool named 'teleport'")
    [assistant] = [m for m in second["body"]["messages"] if m.get("tool_calls")]
    # Replayed arguments are valid JSON (servers parse them); the error result explains.
    assert [c["function"]["arguments"] for c in assistant["tool_calls"]] == ["{}", '{"to": "Mars"}']


async def test_a_tool_that_times_out_gives_an_error_result_and_the_turn_goes_on(
    tools_stack: Stack, user_id: int, web: FakeWeb
) -> None:
    marker = "read the slow page q6"
    slow = f"{web.base_url}/slow?seconds=6"
    script(
        tools_stack,
        marker,
        {"tool_calls": [call("fetch_url", {"url": slow})]},
        {"text": "The page did not load in time."},
    )
    reply = await ask(tools_stack, user_id, marker)
    assert reply["text"] == "The page did not load in time."
    _, second = requests_for(tools_stack, marker)
    [result] = tool_messages(second)
    assert result["content"] == "Error: the page did not load within 2.5 seconds"
    # While it ran, the draft said what was going on.
    drafts = [d["text"] for d in await tools_stack.telegram.drafts(user_id)]
    assert "🌐 Reading the page…" in drafts, drafts


async def test_fragments_that_repeat_the_function_name_are_assembled(
    tools_stack: Stack, user_id: int
) -> None:
    marker = "repeated names q7"
    tools_stack.llm.set_knobs(chunk_chars=3, model="gpt-tools")
    script(
        tools_stack,
        marker,
        {
            "tool_calls": [call("calculator", {"expression": "(3+4)*6"})],
            "repeat_name_in_chunks": True,
        },
        {"text": "42"},
    )
    reply = await ask(tools_stack, user_id, marker)
    assert reply["text"] == "42"
    _, second = requests_for(tools_stack, marker)
    [assistant] = [m for m in second["body"]["messages"] if m.get("tool_calls")]
    assert assistant["tool_calls"][0]["function"]["name"] == "calculator"
    assert [m["content"] for m in tool_messages(second)] == ["(3+4)*6 = 42"]


async def test_history_with_tool_use_replays_across_protocols(
    tools_stack: Stack, user_id: int
) -> None:
    await select_model(tools_stack, user_id, "claude-tools")
    first = "square root of 1764 q8"
    script(
        tools_stack,
        first,
        {"tool_calls": [call("calculator", {"expression": "sqrt(1764)"}, "toolu_root")]},
        {"text": "It is 42."},
        model="claude-tools",
    )
    assert (await ask(tools_stack, user_id, first))["text"] == "It is 42."

    await select_model(tools_stack, user_id, "gpt-tools")
    followup = "and its double? q8"
    script(tools_stack, followup, {"text": "84."})
    assert (await ask(tools_stack, user_id, followup))["text"] == "84."
    [request] = requests_for(tools_stack, followup)
    messages = request["body"]["messages"]
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert messages[2]["tool_calls"][0]["id"] == "toolu_root"
    assert messages[2]["tool_calls"][0]["function"]["name"] == "calculator"
    assert messages[3] == {
        "role": "tool",
        "tool_call_id": "toolu_root",
        "content": "sqrt(1764) = 42",
    }
    assert messages[4]["content"] == "It is 42."

    await select_model(tools_stack, user_id, "claude-tools")
    back = "and its half? q8"
    script(tools_stack, back, {"text": "21."}, model="claude-tools")
    assert (await ask(tools_stack, user_id, back))["text"] == "21."
    [request] = requests_for(tools_stack, back)
    kinds = [
        [b["type"] for b in m["content"]] if isinstance(m["content"], list) else "text"
        for m in request["body"]["messages"]
    ]
    assert kinds[1] == ["tool_use"]
    assert kinds[2] == ["tool_result"]
    assert request["body"]["tools"]  # calls in the history need the tools defined

    await select_model(tools_stack, user_id, "gpt")  # no tools: the steps become text
    plain = "summarise our maths q8"
    script(tools_stack, plain, {"text": "We did roots."}, model="gpt-test")
    assert (await ask(tools_stack, user_id, plain))["text"] == "We did roots."
    [request] = requests_for(tools_stack, plain)
    assert "tools" not in request["body"]
    text = json.dumps(request["body"]["messages"])
    assert "[called the tool calculator with" in text
    assert "[the tool calculator returned: sqrt(1764) = 42]" in text


async def test_fetch_url_refuses_private_addresses_names_and_redirects(
    tools_stack: Stack, user_id: int, web: FakeWeb
) -> None:
    marker = "fetch the internal things q9"
    llm_port = tools_stack.llm.base_url.rsplit(":", 1)[1]
    web_port = web.base_url.rsplit(":", 1)[1]
    targets = [
        f"http://127.0.0.1:{llm_port}/v1/models",
        "http://169.254.169.254/latest/meta-data/",
        f"http://localhost:{web_port}/pages/secret",
        f"{web.base_url}/redirect?to=http://127.0.0.1:{llm_port}/v1/models",
    ]
    calls = [call("fetch_url", {"url": url}) for url in targets]
    script(tools_stack, marker, {"tool_calls": calls}, {"text": "All refused."})
    before = len([r for r in tools_stack.llm.requests if r["path"] == "/v1/models"])
    reply = await ask(tools_stack, user_id, marker)
    assert reply["text"] == "All refused."
    _, second = requests_for(tools_stack, marker)
    results = [m["content"] for m in tool_messages(second)]
    assert len(results) == 4
    for url, result in zip(targets, results, strict=True):
        assert result.startswith("Error: refused"), (url, result)
    assert "127.0.0.1" in results[0]
    assert "169.254.169.254" in results[1]
    assert "localhost" in results[2]
    assert "127.0.0.1" in results[3]
    assert len([r for r in tools_stack.llm.requests if r["path"] == "/v1/models"]) == before
    assert [p for p in web.requests if "secret" in p] == []  # the name never connected
    assert len([p for p in web.requests if p.startswith("/redirect")]) == 1


async def test_an_image_is_generated_and_sent_as_a_photo(tools_stack: Stack, user_id: int) -> None:
    marker = "draw a red fox in the snow q10"
    prompt = "A red fox standing in fresh snow, watercolor, soft morning light"
    script(
        tools_stack,
        marker,
        {"tool_calls": [call("generate_image", {"prompt": prompt})]},
        {"text": "Here is your fox."},
    )
    before = await count_bot_messages(tools_stack, user_id)
    await tools_stack.telegram.send(user_id, marker)
    photo, answer = (await tools_stack.telegram.wait_bot_messages(user_id, before + 2, timeout=20))[
        before:
    ]
    assert photo["photo"], photo
    assert max(size["width"] for size in photo["photo"]) == 1024
    assert answer["text"] == "Here is your fox."
    [images] = [r for r in tools_stack.llm.requests if r["path"] == "/v1/images/generations"]
    assert images["body"]["prompt"] == prompt
    assert images["body"]["model"] == "image-test"
    _, second = requests_for(tools_stack, marker)
    [result] = tool_messages(second)
    assert "sent to the user as a photo" in result["content"]


async def test_tools_can_be_turned_off_for_a_chat(tools_stack: Stack, user_id: int) -> None:
    menu = await ask(tools_stack, user_id, "/tools")
    assert menu["text"].startswith("🧰 Tools are on in this chat: the model may use")
    assert "🔎 web search" in menu["text"]
    [[button]] = menu["reply_markup"]["inline_keyboard"]
    assert button["text"] == "Turn tools off"
    await tools_stack.telegram.press(user_id, user_id, menu["message_id"], button["callback_data"])
    for _ in range(200):
        [edited] = [
            m
            for m in await tools_stack.telegram.bot_messages(user_id)
            if m["message_id"] == menu["message_id"]
        ]
        if edited["edits"]:
            break
        await asyncio.sleep(0.05)
    assert edited["text"].startswith("🧰 Tools are off in this chat")

    marker = "no tools now q11"
    script(tools_stack, marker, {"text": "From memory."})
    assert (await ask(tools_stack, user_id, marker))["text"] == "From memory."
    [request] = requests_for(tools_stack, marker)
    assert "tools" not in request["body"]


ARTICLE = """<!doctype html><html><head><title>Kiwi harvest 2026</title>
<script>var tracking = "cookie banner";</script></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<header><p>Accept our cookie banner</p></header>
<article><h1>Kiwi harvest 2026</h1>
<p>This season the valley's growers picked 4200 tonnes of kiwi fruit, the most in a decade.</p>
<p>Cool nights in March gave the fruit time to sweeten, and the late rains stayed away.</p>
<p>Exporters expect prices to hold steady through the winter months.</p>
</article><footer>© 2026 Valley News</footer></body></html>"""


async def test_in_a_group_the_placeholder_shows_the_status_and_the_photo_is_sent(
    tools_stack: Stack, user_id: int, web: FakeWeb
) -> None:
    username = await bot_username(tools_stack)
    chat_id = -1_000_000_000_000 - user_id
    chat = {"id": chat_id, "type": "supergroup", "title": "Tools"}
    await tools_stack.telegram.group(chat, admins=[user_id + 1], members=[user_id])
    marker = "draw the slow page q12"
    calls = [
        call("fetch_url", {"url": f"{web.base_url}/slow?seconds=6"}),
        call("generate_image", {"prompt": "A lighthouse at dusk"}),
    ]
    script(tools_stack, marker, {"tool_calls": calls}, {"text": "Your lighthouse."})
    await tools_stack.telegram.send(user_id, f"@{username} {marker}", chat=chat)
    placeholder, photo = await tools_stack.telegram.wait_bot_messages(chat_id, 2, timeout=20)
    assert photo["photo"]
    for _ in range(400):  # the placeholder becomes the answer once the page times out
        [answer] = [
            m
            for m in await tools_stack.telegram.bot_messages(chat_id)
            if m["message_id"] == placeholder["message_id"]
        ]
        if answer["text"] == "Your lighthouse.":
            break
        await asyncio.sleep(0.05)
    assert answer["text"] == "Your lighthouse."
    shown = [edit["text"] for edit in answer["edits"]]
    assert "🌐 Reading the page… · 🎨 Drawing the picture…" in shown, shown


async def test_a_picture_without_words_is_an_answer_not_an_empty_one(
    tools_stack: Stack, user_id: int
) -> None:
    marker = "just draw a cat q13"
    script(
        tools_stack,
        marker,
        {"tool_calls": [call("generate_image", {"prompt": "A cat"})]},
        {"text": ""},
    )
    await tools_stack.telegram.send(user_id, marker)
    photo, after = await tools_stack.telegram.wait_bot_messages(user_id, 2, timeout=20)
    assert photo["photo"]
    assert after["text"] == "🎨 Here is the picture."
