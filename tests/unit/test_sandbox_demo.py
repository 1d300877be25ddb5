"""The sandbox's demo model: deterministic answers that show every feature of the bot."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

import aiohttp
import pytest
from PIL import Image

from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.llm.demo import DemoModel
from bot.sandbox.panel import SPEEDS

WEB = "http://127.0.0.1:4567"
TOOLS = ["calculator", "current_time", "web_search", "fetch_url", "generate_image"]
PERSONA = "You are a concise assistant in a Telegram chat."
ROUTE = "You help with code: answer with working snippets."


def openai_body(text: str | list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "model": "demo",
        "messages": [
            {"role": "system", "content": f"{PERSONA}\n\n{ROUTE}"},
            {"role": "user", "content": text},
        ],
        "tools": [{"type": "function", "function": {"name": n}} for n in TOOLS],
        **extra,
    }


def call_of(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    entry = DemoModel(WEB).reply(body, "demo")
    [call] = entry.tool_calls
    return call.name, json.loads(call.arguments)


@pytest.mark.parametrize(
    ("text", "tool", "arguments"),
    [
        ("what is 17*23+5?", "calculator", {"expression": "17*23+5"}),
        ("сколько будет 2^10", "calculator", {"expression": "2^10"}),
        ("what time is it in Tokyo?", "current_time", {"timezone": "Asia/Tokyo"}),
        ("который час в Москве?", "current_time", {"timezone": "Europe/Moscow"}),
        ("search for python asyncio", "web_search", {"query": "python asyncio"}),
        ("draw a red cat", "generate_image", {"prompt": "a red cat"}),
        ("read https://example.org/a.", "fetch_url", {"url": "https://example.org/a"}),
        ("read the page about telegram bots", "fetch_url", {"url": f"{WEB}/pages/telegram-bots"}),
    ],
)
def test_a_message_that_asks_for_a_tool_calls_it(
    text: str, tool: str, arguments: dict[str, str]
) -> None:
    assert call_of(openai_body(text)) == (tool, arguments)


def test_without_the_tool_it_says_which_tool_and_where_to_get_one() -> None:
    body = openai_body("what is 2+2")
    body["tools"] = []
    text = DemoModel().reply(body, "demo").text
    assert "`calculator`" in text
    assert "/setmodel" in text


def test_when_it_must_answer_in_words_it_calls_nothing() -> None:
    entry = DemoModel().reply(openai_body("what is 2+2", tool_choice="none"), "demo")
    assert not entry.tool_calls
    assert "Demo model" in entry.text


def test_a_plain_message_gets_an_answer_that_says_it_is_a_demo_and_quotes_instructions() -> None:
    text = DemoModel().reply(openai_body("hello there"), "qwen").text
    assert "*Demo model* `qwen`" in text
    assert "«hello there»" in text
    assert PERSONA in text  # the character's (or chat's) prompt
    assert ROUTE in text  # the route's instructions
    assert "what time is it in Tokyo" in text  # suggestions on a first message


def test_it_answers_in_the_users_language() -> None:
    text = DemoModel().reply(openai_body("привет, как дела?"), "qwen").text
    assert "Демо-модель" in text
    assert "Вы написали: «привет, как дела?»" in text


def test_a_model_without_a_system_role_quotes_the_user_not_the_merged_prompt() -> None:
    body = {
        "model": "gemma",
        "messages": [{"role": "user", "content": f"{PERSONA}\n\n---\n\nhow are you?"}],
    }
    text = DemoModel().reply(body, "gemma").text
    assert "«how are you?»" in text
    assert f"«{PERSONA}»" in text  # shown as the instructions it follows, not as the user's words
    assert "You wrote: «You are" not in text


def test_tool_results_become_the_answer_openai_protocol() -> None:
    body = openai_body("what is 17*23+5?")
    body["messages"] += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "calculator"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "17*23+5 = 396"},
    ]
    entry = DemoModel().reply(body, "demo")
    assert not entry.tool_calls
    assert "`calculator`" in entry.text
    assert "**17*23+5 = 396**" in entry.text


def test_tool_results_become_the_answer_anthropic_protocol() -> None:
    body = {
        "model": "claude",
        "system": PERSONA,
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "который час в Токио?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "current_time", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "09:15 JST"}],
            },
        ],
    }
    text = DemoModel().reply(body, "claude").text
    assert "Инструмент `current_time` вызван" in text
    assert "09:15 JST" in text


def png(size: tuple[int, int], left: tuple[int, int, int], right: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_a_picture_is_described_by_its_size_and_colours(protocol: str) -> None:
    data = base64.b64encode(png((640, 480), (40, 80, 210), (220, 40, 40))).decode()
    if protocol == "openai":
        block = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}
    else:
        source = {"type": "base64", "media_type": "image/png", "data": data}
        block = {"type": "image", "source": source}
    body = openai_body([block, {"type": "text", "text": "what is this?"}])
    text = DemoModel().reply(body, "vision").text
    assert "640×480" in text
    assert "blue (50%)" in text
    assert "red (50%)" in text


def test_a_document_is_described_by_its_name_pages_and_first_lines() -> None:
    pinned = '<document name="notes.txt" pages="3">\nFirst line.\nSecond line.\n</document>\n\n'
    body = openai_body([{"type": "text", "text": pinned}, {"type": "text", "text": "summarize"}])
    text = DemoModel().reply(body, "demo").text
    assert "**notes.txt** (3 pages)" in text
    assert "> First line.\n> Second line." in text
    assert "«summarize»" in text


def test_a_long_request_gets_an_answer_longer_than_one_telegram_message() -> None:
    text = DemoModel().reply(openai_body("write a long story"), "demo").text
    assert len(text) > 4096
    assert text.count("\n\n") > 10  # paragraphs to split at


def test_the_routing_judge_gets_json_with_a_route_it_offered() -> None:
    schema = {
        "type": "object",
        "properties": {"route": {"type": "string", "enum": ["chat", "code", "unsure"]}},
    }
    body = openai_body(
        "fix my python function",
        response_format={"type": "json_schema", "json_schema": {"schema": schema}},
    )
    assert json.loads(DemoModel().reply(body, "judge").text) == {"route": "code"}


async def test_the_demo_streams_at_a_realistic_pace_over_http() -> None:
    server = ScriptedLLM(demo=DemoModel())
    server.apply_knobs(SPEEDS["realistic"])
    base = await server.start()
    body = {**openai_body("hello"), "stream": True}
    pieces: list[tuple[float, str]] = []
    started = time.monotonic()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{base}/v1/chat/completions", json=body, headers={"Authorization": "Bearer k"}
            ) as response,
        ):
            async for raw in response.content:
                line = raw.decode().strip()
                if line.startswith("data: {"):
                    delta = json.loads(line[6:])["choices"][0]["delta"].get("content")
                    if delta:
                        pieces.append((time.monotonic() - started, delta))
    finally:
        await server.stop()
    text = "".join(piece for _, piece in pieces)
    assert "Demo model" in text
    assert pieces[0][0] >= 0.35  # about 0.4 s to the first token
    rate = len(pieces) / (pieces[-1][0] - pieces[0][0])  # 4-character pieces, about a token
    assert 20 < rate < 45  # about 40 tokens a second


def test_asked_about_gambling_it_plays_along_so_the_groups_filter_has_something_to_block() -> None:
    text = DemoModel().reply(openai_body("which online casino pays out the fastest?"), "demo").text
    assert "bookmaker's odds" in text
    assert "free spins" in text
    assert "content filter" in text  # where to see it blocked
    ru = DemoModel().reply(openai_body("в каком казино лучшие ставки?"), "demo").text
    assert "букмекера" in ru
    assert "фильтр" in ru
    plain = DemoModel().reply(openai_body("how do I bake bread?"), "demo").text
    assert "bookmaker" not in plain


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Put a small stake on the underdog; the bookmaker's odds are generous.", "gambling"),
        ("Ставка на фаворита в казино", "gambling"),
        ("where can I buy weed", "drugs"),
        ("Bake the bread at 220 degrees for forty minutes.", "none"),
    ],
)
def test_the_content_filters_judge_names_a_topic_by_its_words_else_none(
    text: str, topic: str
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "topic": {"type": "string", "enum": ["drugs", "gambling", "none", "unsure"]}
        },
    }
    body = openai_body(
        text,
        response_format={"type": "json_schema", "json_schema": {"name": "mod", "schema": schema}},
    )
    assert json.loads(DemoModel().reply(body, "judge").text) == {"topic": topic}


def test_the_first_answer_lists_what_to_try_the_newer_features_included() -> None:
    text = DemoModel().reply(openai_body("hello"), "demo").text
    for hint in ("🎙", "🎵", "by card", "casino", "/stats", "/broadcast", "/settings"):
        assert hint in text, hint
    ru = DemoModel().reply(openai_body("привет"), "demo").text
    for hint in ("🎙", "по карте", "казино", "/stats", "/broadcast"):
        assert hint in ru, hint
