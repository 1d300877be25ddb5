"""Tool calls on the wire and in storage: streamed fragments assembled, calls and results
replayed in each protocol's shape, flattened to text for models without tools, stored answers
replayed as turns, and the `tools:` field of route and character files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.characters.files import CharacterFileError, load_character
from bot.chat.context import build_request, estimate_tokens, message_tokens, normalize_turns
from bot.chat.transcript import answer_content, answer_turns, has_tool_steps, tool_step_chars
from bot.llm.adapt import adapt_request
from bot.llm.providers.anthropic import AnthropicClient
from bot.llm.providers.anthropic import _message as anthropic_message
from bot.llm.providers.openai_compat import OpenAICompatibleClient, _messages
from bot.llm.providers.openai_stream import ToolCallAssembler
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import (
    ChatRequest,
    Part,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
    Turn,
)
from bot.routing.routes import MIN_EXAMPLES, RouteFileError, load_route, load_routes
from bot.storage.dto import MessageStatus, Role, StoredMessage

ROOT = Path(__file__).parents[2]
SEARCH = ToolSpec("web_search", "Search the web.", {"type": "object", "properties": {}})
CALL_A = ToolCallPart("call_a", "web_search", '{"query": "otters"}')
CALL_B = ToolCallPart("call_b", "fetch_url", '{"url": "https://example.org"}')
RESULT_A = ToolResultPart("call_a", "web_search", "Otters are mustelids.")
RESULT_B = ToolResultPart("call_b", "fetch_url", "404 not found", is_error=True)


def spec(*, tools: bool = True, context: int = 100_000, max_output: int = 100) -> ModelSpec:
    caps = ModelCapabilities(
        vision=False,
        tools=tools,
        system_prompt=True,
        pdf_native=False,
        context_tokens=context,
        max_output_tokens=max_output,
    )
    return ModelSpec(
        id="m", display_name="M", provider="p", remote_name="remote-m", capabilities=caps
    )


def fragment(
    index: int | None, call_id: str | None, name: str | None, args: str | None
) -> dict[str, Any]:
    """A `tool_calls` entry of a streamed delta, as parsed from the wire."""
    return {"index": index, "id": call_id, "function": {"name": name, "arguments": args}}


def assembled(*fragments: dict[str, Any]) -> list[ToolCallPart]:
    assembler = ToolCallAssembler()
    for delta in fragments:
        assembler.add(delta)
    return assembler.completed()


# --- OpenAI: streamed fragments -------------------------------------------------------------


def test_interleaved_openai_fragments_become_whole_calls_in_index_order() -> None:
    calls = assembled(
        fragment(1, "call_b", "fetch_url", ""),
        fragment(0, "call_a", "web_search", ""),
        fragment(0, None, None, '{"query":'),
        fragment(1, None, None, '{"url": "https://example.org"}'),
        fragment(0, None, None, ' "otters"}'),
    )
    assert calls == [CALL_A, CALL_B]


def test_a_server_repeating_id_and_name_in_every_chunk_gives_one_clean_call() -> None:
    calls = assembled(
        fragment(0, "call_a", "web_search", '{"query"'),
        fragment(0, "call_a", "web_search", ': "otters"'),
        fragment(0, "call_a", "web_search", "}"),
    )
    assert calls == [CALL_A]


def test_parallel_calls_sent_at_one_index_with_their_own_ids_stay_apart() -> None:
    calls = assembled(
        fragment(0, "call_a", "web_search", '{"query": "otters"}'),
        fragment(0, "call_b", "fetch_url", '{"url": "https://example.org"}'),
    )
    assert calls == [CALL_A, CALL_B]


def test_name_pieces_are_joined() -> None:
    [call] = assembled(fragment(0, "c", "web_", ""), fragment(0, None, "search", "{}"))
    assert call.name == "web_search"


def test_calls_without_an_id_get_distinct_generated_ones() -> None:
    first, second = assembled(fragment(0, None, "web_search", "{}"), fragment(1, None, "x", ""))
    assert first.id.startswith("call_")
    assert len(first.id) > len("call_")
    assert first.id != second.id


def test_fragments_of_a_call_without_a_name_are_dropped() -> None:
    assert assembled(fragment(0, "call_a", None, '{"query": "x"}')) == []
    assert assembled(fragment(0, "a", None, "{}"), fragment(1, "b", "web_search", "{}")) == [
        ToolCallPart("b", "web_search", "{}")
    ]


# --- OpenAI: replayed messages --------------------------------------------------------------


def test_an_assistant_turn_with_calls_is_one_message_with_its_text() -> None:
    broken = ToolCallPart("call_c", "web_search", '{"query": ')
    [message] = _messages(Turn("assistant", (TextPart("Let me look."), CALL_A, broken)))
    assert message["role"] == "assistant"
    assert message["content"] == "Let me look."
    assert [c["id"] for c in message["tool_calls"]] == ["call_a", "call_c"]
    assert message["tool_calls"][0]["function"] == {
        "name": "web_search",
        "arguments": '{"query": "otters"}',
    }
    assert message["tool_calls"][1]["function"]["arguments"] == "{}"  # servers parse it


def test_results_become_tool_messages_before_the_users_text() -> None:
    messages = _messages(Turn("user", (RESULT_A, RESULT_B, TextPart("And?"))))
    assert messages == [
        {"role": "tool", "tool_call_id": "call_a", "content": "Otters are mustelids."},
        {"role": "tool", "tool_call_id": "call_b", "content": "Error: 404 not found"},
        {"role": "user", "content": "And?"},
    ]


async def test_openai_params_offer_the_tools_and_the_choice() -> None:
    client = OpenAICompatibleClient(
        base_url="http://127.0.0.1:9/v1", api_key="k", connect_timeout=1, read_timeout=1
    )
    try:
        request = ChatRequest((Turn.text("user", "hi"),), tools=(SEARCH,), tool_choice="none")
        params = client._params(spec(), request)
        plain = client._params(spec(), ChatRequest((Turn.text("user", "hi"),)))
    finally:
        await client.close()
    function = {
        "name": "web_search",
        "description": "Search the web.",
        "parameters": SEARCH.parameters,
    }
    assert params["tools"] == [{"type": "function", "function": function}]
    assert params["tool_choice"] == "none"
    assert "tools" not in plain
    assert "tool_choice" not in plain


# --- Anthropic ------------------------------------------------------------------------------


def test_anthropic_results_come_first_with_sanitised_ids() -> None:
    odd = ToolResultPart("call:1/x", "web_search", "", is_error=True)
    message = anthropic_message(Turn("user", (TextPart("Thanks"), odd, RESULT_A)))
    assert message["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1_x", "content": "(empty)", "is_error": True},
        {
            "type": "tool_result",
            "tool_use_id": "call_a",
            "content": "Otters are mustelids.",
            "is_error": False,
        },
        {"type": "text", "text": "Thanks"},
    ]


def test_anthropic_tool_use_ids_match_their_results_and_input_is_an_object() -> None:
    calls = (
        ToolCallPart("call:1/x", "web_search", '{"query": "otters"}'),
        ToolCallPart("call_2", "web_search", "not json"),
    )
    message = anthropic_message(Turn("assistant", (TextPart(""), *calls)))
    assert message["content"] == [  # the empty text block is refused by the API: dropped
        {"type": "tool_use", "id": "call_1_x", "name": "web_search", "input": {"query": "otters"}},
        {"type": "tool_use", "id": "call_2", "name": "web_search", "input": {}},
    ]


async def test_anthropic_request_defines_tools_with_input_schema() -> None:
    client = AnthropicClient(base_url=None, api_key="k", connect_timeout=1, read_timeout=1)
    await client.close()
    request = ChatRequest((Turn.text("user", "hi"),), tools=(SEARCH,), tool_choice="none")
    params = client._params(spec(), request)
    assert params["tools"] == [
        {"name": "web_search", "description": "Search the web.", "input_schema": SEARCH.parameters}
    ]
    assert params["tool_choice"] == {"type": "none"}
    assert "tools" not in client._params(spec(), ChatRequest((Turn.text("user", "hi"),)))


# --- Adapting requests to the model -----------------------------------------------------------

HISTORY = (
    Turn.text("user", "otters?"),
    Turn("assistant", (TextPart("Looking."), CALL_A, CALL_B)),
    Turn("user", (RESULT_A, RESULT_B)),
    Turn.text("assistant", "They are mustelids."),
    Turn.text("user", "more"),
)


def test_structured_tool_parts_stay_for_a_model_that_calls_tools() -> None:
    adapted = adapt_request(ChatRequest(HISTORY, tools=(SEARCH,)), spec().capabilities)
    assert adapted.turns == HISTORY
    assert adapted.tools == (SEARCH,)


@pytest.mark.parametrize(("offered", "model_can"), [((), True), ((SEARCH,), False)])
def test_without_tools_calls_and_results_become_text(
    offered: tuple[ToolSpec, ...], model_can: bool
) -> None:
    adapted = adapt_request(ChatRequest(HISTORY, tools=offered), spec(tools=model_can).capabilities)
    assert adapted.tools == ()
    parts = [p for t in adapted.turns for p in t.parts]
    assert all(isinstance(p, TextPart) for p in parts)
    texts = [[p.text.strip() for p in t.parts if isinstance(p, TextPart)] for t in adapted.turns]
    assert texts[1] == [
        "Looking.",
        '[called the tool web_search with {"query": "otters"}]',
        '[called the tool fetch_url with {"url": "https://example.org"}]',
    ]
    assert texts[2] == [
        "[the tool web_search returned: Otters are mustelids.]",
        "[the tool fetch_url failed: 404 not found]",
    ]
    assert adapted.turns[3:] == HISTORY[3:]


# --- Stored answers ----------------------------------------------------------------------------

CALL_C = ToolCallPart("call_c", "calculator", '{"expression": "2+2"}')
RESULT_C = ToolResultPart("call_c", "calculator", "4")


def test_a_stored_answer_replays_as_alternating_turns() -> None:
    parts: list[Part] = [
        TextPart("Looking."),
        CALL_A,
        CALL_B,
        RESULT_A,
        RESULT_B,
        TextPart("\n\nNow the sum."),
        CALL_C,
        RESULT_C,
        TextPart("\n\nDone: 4."),
    ]
    content = answer_content(parts)
    assert has_tool_steps(content)
    assert answer_turns(content) == [
        Turn("assistant", (TextPart("Looking."), CALL_A, CALL_B)),
        Turn("user", (RESULT_A, RESULT_B)),
        Turn("assistant", (TextPart("Now the sum."), CALL_C)),
        Turn("user", (RESULT_C,)),
        Turn.text("assistant", "Done: 4."),
    ]


def test_a_call_without_its_result_is_dropped() -> None:
    content = answer_content([TextPart("Looking."), CALL_A, RESULT_A, TextPart("More."), CALL_C])
    assert answer_turns(content) == [
        Turn("assistant", (TextPart("Looking."), CALL_A)),
        Turn("user", (RESULT_A,)),
        Turn.text("assistant", "More."),
    ]


def test_an_answer_ending_after_results_ends_with_them() -> None:
    turns = answer_turns(answer_content([CALL_A, RESULT_A]))
    assert turns == [Turn("assistant", (CALL_A,)), Turn("user", (RESULT_A,))]


def stored(
    n: int, role: Role, parts: list[Part], output_tokens: int | None = None
) -> StoredMessage:
    return StoredMessage(
        id=n,
        conversation_id=1,
        role=role,
        content=answer_content(parts),
        status=MessageStatus.COMPLETE,
        output_tokens=output_tokens,
    )


def test_results_whose_calls_are_not_right_before_them_are_dropped() -> None:
    turns = normalize_turns(
        [
            Turn("user", (RESULT_A, TextPart("and then?"))),  # its call was cut off
            Turn.text("assistant", "Then nothing."),
            Turn("user", (RESULT_B, TextPart("ok"))),  # no call_b in the turn before
            Turn("assistant", (CALL_C,)),
            Turn("user", (RESULT_C,)),
        ]
    )
    assert turns == (
        Turn.text("user", "and then?"),
        Turn.text("assistant", "Then nothing."),
        Turn.text("user", "ok"),
        Turn("assistant", (CALL_C,)),
        Turn("user", (RESULT_C,)),
    )


def test_a_tool_answer_cut_from_its_question_leaves_no_orphan_results() -> None:
    answer: list[Part] = [TextPart("Looking."), CALL_A, RESULT_A, TextPart("Mustelids.")]
    history = [
        stored(1, Role.USER, [TextPart("q " * 1500)]),  # too big for the budget: cut
        stored(2, Role.ASSISTANT, answer, output_tokens=5),
        stored(3, Role.USER, [TextPart("and seals?")]),
    ]
    request = build_request(spec(context=1000), None, history)
    assert request.turns[0].role == "user"
    assert not any(isinstance(p, ToolResultPart) for t in request.turns for p in t.parts)
    assert request.turns[-1].plain_text == "and seals?"


def test_a_tool_answer_costs_its_results() -> None:
    answer: list[Part] = [
        TextPart("Found it."),
        CALL_A,
        ToolResultPart("call_a", "web_search", "r" * 3000),
    ]
    tool_answer = stored(2, Role.ASSISTANT, answer, output_tokens=5)
    text_answer = stored(2, Role.ASSISTANT, [TextPart("Found it.")], output_tokens=5)
    assert tool_step_chars(tool_answer.content) >= 3000
    assert message_tokens(tool_answer) >= estimate_tokens("Found it.") + 1000
    assert message_tokens(text_answer) < 20

    question = stored(1, Role.USER, [TextPart("otters?")])
    latest = stored(3, Role.USER, [TextPart("and seals?")])
    small = spec(context=1000)
    assert len(build_request(small, None, [question, text_answer, latest]).turns) == 3
    # 1000 result tokens do not fit a 1000-token window: the answer and its question go.
    assert build_request(small, None, [question, tool_answer, latest]).turns == (
        Turn.text("user", "and seals?"),
    )


# --- Route and character files --------------------------------------------------------------


def route_text(tools: str) -> str:
    en = "\n".join(f'    - "english example number {i}"' for i in range(MIN_EXAMPLES))
    ru = "\n".join(f'    - "пример номер {i}"' for i in range(MIN_EXAMPLES))
    return (
        f"---\nid: demo\ndescription:\n  en: Demo.\n  ru: Демо.\ntools: {tools}\n"
        f"examples:\n  en:\n{en}\n  ru:\n{ru}\n---\nAnswer well.\n"
    )


def test_a_route_naming_an_unknown_tool_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo.md"
    path.write_text(route_text("[web_search, teleport]"), encoding="utf-8")
    with pytest.raises(RouteFileError) as info:
        load_route(path)
    assert str(path) in str(info.value)
    assert "tools" in str(info.value)
    assert "web_search" in str(info.value)  # the names it could have used


def test_a_route_with_known_tools_offers_just_those(tmp_path: Path) -> None:
    path = tmp_path / "demo.md"
    path.write_text(route_text("[calculator]"), encoding="utf-8")
    assert load_route(path).tools == frozenset({"calculator"})
    path.write_text(route_text("[]"), encoding="utf-8")
    assert load_route(path).tools == frozenset()


def test_the_shipped_routes_restrict_their_tools() -> None:
    book = load_routes(ROOT / "routes", default="chat")
    assert book["image"].tools == frozenset({"generate_image"})
    assert book["search"].tools == frozenset({"web_search", "fetch_url", "current_time"})
    assert book["chat"].tools is None


def character_with(tmp_path: Path, tools: str) -> Path:
    text = (ROOT / "characters" / "tutor.md").read_text(encoding="utf-8")
    assert "\nrouting: true\n" in text
    path = tmp_path / "tutor.md"
    path.write_text(
        text.replace("\nrouting: true\n", f"\nrouting: true\ntools: {tools}\n"), encoding="utf-8"
    )
    return path


def test_a_character_naming_an_unknown_tool_is_refused(tmp_path: Path) -> None:
    path = character_with(tmp_path, "[calculator, teleport]")
    with pytest.raises(CharacterFileError) as info:
        load_character(path)
    assert str(path) in str(info.value)
    assert "tools" in str(info.value)


def test_a_character_restricts_its_tools(tmp_path: Path) -> None:
    assert load_character(character_with(tmp_path, "[calculator]")).tools == frozenset(
        {"calculator"}
    )
    assert load_character(ROOT / "characters" / "tutor.md").tools is None
