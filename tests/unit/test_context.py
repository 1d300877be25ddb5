"""Context assembly: budget, oldest turns dropped first, provider usage, role normalisation."""

from __future__ import annotations

import pytest

from bot.chat.context import (
    ContextTooLongError,
    Sampling,
    build_request,
    estimate_tokens,
    normalize_turns,
)
from bot.llm.adapt import adapt_request
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import ChatRequest, Turn
from bot.storage.dto import MessageStatus, Role, StoredMessage


def spec(context: int = 2000, max_output: int = 200, system_prompt: bool = True) -> ModelSpec:
    caps = ModelCapabilities(
        vision=False,
        tools=False,
        system_prompt=system_prompt,
        pdf_native=False,
        context_tokens=context,
        max_output_tokens=max_output,
    )
    return ModelSpec(id="m", display_name="M", provider="p", remote_name="m", capabilities=caps)


def msg(n: int, role: Role, text: str, output_tokens: int | None = None) -> StoredMessage:
    return StoredMessage(
        id=n,
        conversation_id=1,
        role=role,
        content=[{"type": "text", "text": text}],
        status=MessageStatus.COMPLETE,
        output_tokens=output_tokens,
    )


def dialogue(pairs: int, size: int) -> list[StoredMessage]:
    history = []
    for i in range(pairs):
        history.append(msg(2 * i, Role.USER, f"q{i} " + "x" * size))
        history.append(msg(2 * i + 1, Role.ASSISTANT, f"a{i} " + "y" * size))
    history.append(msg(999, Role.USER, "latest question"))
    return history


def test_everything_fits_in_a_large_window() -> None:
    request = build_request(spec(context=100_000), "sys", dialogue(3, 50))
    assert len(request.turns) == 7
    assert request.turns[-1].plain_text == "latest question"
    assert request.system == "sys"


def test_oldest_turns_are_dropped_first() -> None:
    request = build_request(spec(context=1000, max_output=100), "sys", dialogue(10, 300))
    texts = [t.plain_text[:3] for t in request.turns]
    assert texts[-1] == "lat"
    assert "q0 " not in texts  # the oldest went first
    assert "a9 " in texts  # the newest answer stayed
    assert request.turns[0].role == "user"  # never starts with an orphaned answer
    used = sum(estimate_tokens(t.plain_text) for t in request.turns) + estimate_tokens("sys")
    assert used <= 1000 * 0.95 - 100


def test_provider_reported_tokens_are_used_for_answers() -> None:
    # The answer's text is short, but the provider said it cost 5000 tokens: it must not fit.
    history = [
        msg(1, Role.USER, "q"),
        msg(2, Role.ASSISTANT, "short", 5000),
        msg(3, Role.USER, "now"),
    ]
    request = build_request(spec(context=4000, max_output=100), None, history)
    assert [t.plain_text for t in request.turns] == ["now"]


def test_a_single_message_too_long_for_the_model() -> None:
    with pytest.raises(ContextTooLongError) as info:
        build_request(spec(context=1000), None, [msg(1, Role.USER, "z" * 10_000)])
    assert info.value.limit == 1000


def test_chat_sampling_is_capped_by_the_model() -> None:
    request = build_request(spec(max_output=200), None, dialogue(0, 0), Sampling(0.3, 0.9, 5000))
    assert (request.temperature, request.top_p, request.max_output_tokens) == (0.3, 0.9, 200)


def test_consecutive_user_turns_are_merged() -> None:
    turns = normalize_turns(
        [Turn.text("assistant", "orphan"), Turn.text("user", "a"), Turn.text("user", "b")]
    )
    assert turns == (Turn.text("user", "a\n\nb"),)


def test_system_prompt_merged_for_models_without_system_role() -> None:
    request = ChatRequest(
        turns=(Turn.text("user", "hi"), Turn.text("assistant", "hello"), Turn.text("user", "q")),
        system="Be brief.",
    )
    adapted = adapt_request(request, spec(system_prompt=False).capabilities)
    assert adapted.system is None
    assert adapted.turns[0].plain_text == "Be brief.\n\n---\n\nhi"
    assert adapted.turns[1:] == request.turns[1:]


def test_system_prompt_kept_for_capable_models() -> None:
    request = ChatRequest(
        turns=(Turn.text("user", "hi"),), system="Be brief.", max_output_tokens=50
    )
    assert adapt_request(request, spec().capabilities) == request
    capped = adapt_request(
        ChatRequest(turns=request.turns, max_output_tokens=999), spec().capabilities
    )
    assert capped.max_output_tokens == 200
