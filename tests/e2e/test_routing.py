"""Intent routing through the real bot: route instructions, `auto` model choice, the LLM judge
(scripted), its timeout, photos, per-chat switches, /route and the decision export."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import struct
import sys
import zlib
from typing import Any

import pytest
from PIL import Image

from bot.routing.routes import Route, load_route
from tests.e2e.conftest import ADMIN_ID, JUDGE_TIMEOUT, PROJECT_ROOT, SYSTEM_PROMPT, Stack
from tests.e2e.test_chat import ask, openai_messages, requests_mentioning
from tests.e2e.test_commands import button_data, message_by_id, press

pytestmark = pytest.mark.e2e

CODE_QUESTION = "my python script crashes with TypeError: 'NoneType' object is not subscriptable"
# Nonsense the local classifier cannot be sure about, so the judge is asked.
AMBIGUOUS = "qqq zzz www"


def route(route_id: str) -> Route:
    return load_route(PROJECT_ROOT / "routes" / f"{route_id}.md")


def answer_requests(stack: Stack, text: str) -> list[dict[str, Any]]:
    return [r for r in requests_mentioning(stack.llm, text) if r["model"] != "judge-test"]


def judge_requests(stack: Stack, text: str) -> list[dict[str, Any]]:
    return [r for r in requests_mentioning(stack.llm, text) if r["model"] == "judge-test"]


def system_of(request: dict[str, Any]) -> str:
    if "system" in request["body"]:
        return str(request["body"]["system"])
    return openai_messages(request)[0][1]


async def choose_auto(stack: Stack, user_id: int) -> None:
    menu = await ask(stack, user_id, "/setmodel")
    labels = list(button_data(menu))
    assert labels[0] == "🧭 Auto: the best model for each message"
    answer, edited = await press(stack, user_id, user_id, menu["message_id"], "model:auto")
    assert answer["text"] == "Model switched to Auto (the best model for each message)."
    for _ in range(100):  # the callback is answered first, then the menu edited
        if next(iter(button_data(edited))).startswith("✅"):
            break
        await asyncio.sleep(0.05)
        edited = await message_by_id(stack, user_id, menu["message_id"])
    assert next(iter(button_data(edited))) == "✅ 🧭 Auto: the best model for each message"


def tiny_png() -> bytes:
    """A real 2x2 PNG, built by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\x00\xff\x00" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def test_auto_sends_a_coding_question_to_the_code_routes_model_with_its_instructions(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    await choose_auto(stack, user_id)
    await ask(stack, user_id, CODE_QUESTION)
    [request] = answer_requests(stack, CODE_QUESTION)
    assert request["model"] == "claude-test"  # code prefers claude in this deployment
    assert system_of(request) == f"{SYSTEM_PROMPT}\n\n{route('code').instructions}"
    assert judge_requests(stack, CODE_QUESTION) == []  # decided locally


async def test_an_unsure_message_goes_to_the_judge_and_its_route_is_used_and_stored(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    stack.llm.script('{"route": "writing"}', model="judge-test")
    await choose_auto(stack, user_id)
    await ask(stack, user_id, AMBIGUOUS)
    [judged] = judge_requests(stack, AMBIGUOUS)
    schema = judged["body"]["response_format"]["json_schema"]["schema"]
    assert set(schema["properties"]["route"]["enum"]) >= {"chat", "code", "writing", "unsure"}
    [request] = answer_requests(stack, AMBIGUOUS)
    assert request["model"] == "gpt-test"  # writing's preferred model
    assert system_of(request) == f"{SYSTEM_PROMPT}\n\n{route('writing').instructions}"

    exported = await export_decisions(stack)
    assert {"text": AMBIGUOUS, "route": "writing", "stage": "judge"}.items() <= next(
        row for row in exported if row["text"] == AMBIGUOUS
    ).items()


async def export_decisions(stack: Stack) -> list[dict[str, Any]]:
    """`python -m bot routes export` against the running bot's database."""
    config = stack.bot.log_path.parent / "config.toml"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "routes",
        "export",
        "--config",
        str(config),
        cwd=PROJECT_ROOT,
        env={"E2E_OPENAI_KEY": "k", "E2E_ANTHROPIC_KEY": "k", "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_a_hanging_judge_costs_at_most_its_timeout_and_falls_back_to_chat(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    stack.llm.add_fault("hang", model="judge-test")
    text = "zzz www qqq"
    await ask(stack, user_id, text)
    [judged] = judge_requests(stack, text)
    [request] = answer_requests(stack, text)
    waited = request["received_mono"] - judged["received_mono"]
    assert JUDGE_TIMEOUT - 0.05 <= waited < JUDGE_TIMEOUT + 1.0
    assert system_of(request) == f"{SYSTEM_PROMPT}\n\n{route('chat').instructions}"


async def test_a_photo_in_auto_goes_to_a_model_that_can_see(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    await choose_auto(stack, user_id)
    image = tiny_png()
    before = len(await stack.telegram.bot_messages(user_id))
    await stack.telegram.send_photo(user_id, image, caption="what colour is this square?")
    await stack.telegram.wait_bot_messages(user_id, before + 1, timeout=15)
    [request] = answer_requests(stack, "what colour is this square?")
    assert request["model"] == "claude-test"  # the only model with vision here
    [content] = [m["content"] for m in request["body"]["messages"] if m["role"] == "user"]
    [picture] = [block for block in content if block["type"] == "image"]
    sent = Image.open(io.BytesIO(base64.b64decode(picture["source"]["data"])))
    assert picture["source"]["media_type"] == f"image/{(sent.format or '').lower()}"
    assert sent.size == (2, 2)  # the same picture, re-encoded without its metadata


async def test_a_photo_for_a_model_without_vision_is_refused_with_the_models_that_can(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack  # this user keeps the default model, GPT Test, which cannot see
    before = len(stack.llm.requests)
    sent = await stack.telegram.send_photo(user_id, tiny_png(), caption="what is this?")
    [reply] = await stack.telegram.wait_bot_messages(user_id, 1, timeout=15)
    assert reply["text"] == (
        "GPT Test cannot see pictures. Models that can: Claude Test. "
        "Choose one below (Auto picks one by itself for each message)."
    )
    assert list(button_data(reply).values()) == ["model:auto", "model:claude"]
    assert sent["message_id"]
    assert len(stack.llm.requests) == before  # nothing was sent to a model


async def test_an_explicit_tag_chooses_the_route_and_is_removed(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    await ask(stack, user_id, "#math the usual question about trains")
    [request] = answer_requests(stack, "the usual question about trains")
    assert system_of(request) == f"{SYSTEM_PROMPT}\n\n{route('math').instructions}"
    assert openai_messages(request)[-1] == ("user", "the usual question about trains")


async def test_footer_names_route_and_model_and_routing_can_be_turned_off(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    menu = await ask(stack, user_id, "/settings")
    assert "🧭 Routing by topic: on" in menu["text"]
    await press(stack, user_id, user_id, menu["message_id"], "cfgv:footer:1.0")
    reply = await ask(stack, user_id, "solve the equation 3x + 7 = 22")
    assert reply["text"].endswith("Model: GPT Test · route: math")

    _, summary = await press(stack, user_id, user_id, menu["message_id"], "cfgv:routing:0.0")
    assert "🧭 Routing by topic: off" in summary["text"]
    reply = await ask(stack, user_id, "solve the equation 5x - 1 = 9")
    assert reply["text"].endswith("Model: GPT Test")
    [request] = answer_requests(stack, "5x - 1 = 9")
    assert system_of(request) == SYSTEM_PROMPT


async def test_route_explains_a_decision_to_operators_only(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    reply = await ask(stack, ADMIN_ID, "/route how do I reverse a list in python")
    lines = reply["text"].splitlines()
    assert lines[0].startswith("Route: code (decided by the local classifier, ")
    assert lines[1].startswith("• code: ")
    assert lines[-1] == "Model for this chat: GPT Test"
    refused = await ask(stack, user_id, "/route how do I reverse a list in python")
    assert refused["text"] == "This command is for the bot's operators."


async def test_getmodel_names_auto(routing_stack: Stack, user_id: int) -> None:
    await choose_auto(routing_stack, user_id)
    reply = await ask(routing_stack, user_id, "/getmodel")
    assert reply["text"] == "Current model: Auto (the best model for each message)."


async def test_retry_answers_again_on_the_same_route_and_model(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    await choose_auto(stack, user_id)
    await ask(stack, user_id, "#math the usual question about trains")
    await ask(stack, user_id, "/retry")
    first, again = answer_requests(stack, "the usual question about trains")
    assert first["model"] == again["model"] == "gpt-test"
    assert system_of(again) == f"{SYSTEM_PROMPT}\n\n{route('math').instructions}"


async def test_retry_of_a_photo_question_sends_the_stored_photo_again(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    await choose_auto(stack, user_id)
    before = len(await stack.telegram.bot_messages(user_id))
    await stack.telegram.send_photo(user_id, tiny_png(), caption="which colour?")
    await stack.telegram.wait_bot_messages(user_id, before + 1, timeout=15)
    await ask(stack, user_id, "/retry")
    first, again = answer_requests(stack, "which colour?")
    assert again["model"] == "claude-test"  # still a model that can see
    pictures = [
        [b["source"]["data"] for b in m["content"] if b["type"] == "image"]
        for request in (first, again)
        for m in request["body"]["messages"]
        if m["role"] == "user"
    ]
    assert pictures[0] == pictures[1] != []  # the stored photo, sent again


async def test_in_auto_a_follow_up_about_a_photo_stays_with_a_model_that_can_see(
    routing_stack: Stack, user_id: int
) -> None:
    stack = routing_stack
    await choose_auto(stack, user_id)
    before = len(await stack.telegram.bot_messages(user_id))
    await stack.telegram.send_photo(user_id, tiny_png(), caption="what is on this picture?")
    await stack.telegram.wait_bot_messages(user_id, before + 1, timeout=15)
    await ask(stack, user_id, "tell me a joke about it")
    [follow_up] = answer_requests(stack, "tell me a joke about it")
    assert follow_up["model"] == "claude-test"  # the photo is still shown: it needs vision
