"""The content filter through the real bot (the shipped example topics, the "judge" model):
a flagged answer never reaches a group, not even while it streams, also when the judge times
out (fail closed); a clean one arrives unchanged; private chats are not filtered; a flagged
question is refused before the model is asked; /moderation shows the blocks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_ID, EXTRA_MARK, Stack
from tests.e2e.test_chat import count_bot_messages

pytestmark = pytest.mark.e2e

REFUSAL = "🛡 Not a topic for this chat."
FLAGGED = (
    "You should bet on the red team winning, they have the best players this season and the "
    "odds are 2.5."
)
CLEAN = "Paris is the capital of France and its largest city."
# Between the thresholds: the judge decides. (Verdicts are remembered per text: each test has
# its own.)
UNCERTAIN = "The casino in the film was built on a sound stage."
UNCERTAIN_TOO = "He took two pills for his headache and felt better."


def chats(stack: Stack, since: int, model: str) -> list[dict[str, Any]]:
    return [r for r in stack.llm.requests[since:] if r["model"] == model]


async def group(stack: Stack, user_id: int) -> dict[str, Any]:
    chat = {"id": -1_000_000_000_000 - user_id, "type": "supergroup", "title": "Filtered"}
    await stack.telegram.group(chat, admins=[user_id], members=[user_id + 1])
    return chat


async def ask(stack: Stack, chat: dict[str, Any], user_id: int, text: str) -> dict[str, Any]:
    """The group's answer to `text` once its placeholder shows the final text."""
    before = await count_bot_messages(stack, chat["id"])
    await stack.telegram.send(user_id, f"@sandbox_bot {text}", chat=chat)
    messages = await stack.telegram.wait_bot_messages(chat["id"], before + 1, timeout=20)
    message_id = messages[before]["message_id"]
    for _ in range(400):
        message = next(
            m
            for m in await stack.telegram.bot_messages(chat["id"])
            if m["message_id"] == message_id
        )
        if not message["text"].startswith("✍️"):
            return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"the answer never settled: {message}")


async def everything_sent(stack: Stack, chat_id: int) -> str:
    """Every text the bot sent or showed in the chat, edits and drafts included."""
    calls = await stack.telegram.calls(chat_id=chat_id)
    return "\n".join(str(call["params"]) for call in calls)


async def test_a_flagged_answer_never_reaches_the_group(
    moderation_stack: Stack, user_id: int
) -> None:
    stack = moderation_stack
    chat = await group(stack, user_id)
    stack.llm.script(FLAGGED)
    stack.llm.set_knobs(token_delay_ms=120)  # long enough for progress edits
    answer = await ask(stack, chat, user_id, "who wins the derby?")
    assert answer["text"] == REFUSAL
    shown = await everything_sent(stack, chat["id"])
    assert "red team" not in shown  # not even while it streamed
    assert "odds" not in shown
    assert "✍️ Writing… (" in shown  # the placeholder counted words instead
    # Operators see why, never the text.
    before = await count_bot_messages(stack, ADMIN_ID)
    await stack.telegram.send(ADMIN_ID, "/moderation")
    [report] = (await stack.telegram.wait_bot_messages(ADMIN_ID, before + 1, timeout=20))[before:]
    assert f"chat {chat['id']} · answer · Gambling (stage local" in report["text"]
    assert "route - · model gpt" in report["text"]
    assert "red team" not in report["text"]


async def test_a_clean_answer_arrives_unchanged_and_a_judge_decides_the_uncertain(
    moderation_stack: Stack, user_id: int
) -> None:
    stack = moderation_stack
    chat = await group(stack, user_id)
    since = len(stack.llm.requests)
    stack.llm.script(CLEAN)
    assert (await ask(stack, chat, user_id, "what is the capital of France?"))["text"] == CLEAN
    assert not chats(stack, since, "judge-test")  # decided locally
    stack.llm.script(UNCERTAIN, model="gpt-test")
    stack.llm.script('{"topic": "none"}', model="judge-test")
    assert (await ask(stack, chat, user_id, "tell me about the film"))["text"] == UNCERTAIN
    [judged] = chats(stack, since, "judge-test")
    assert judged["body"]["response_format"]["type"] == "json_schema"


async def test_when_the_judge_times_out_the_answer_is_blocked(
    moderation_stack: Stack, user_id: int
) -> None:
    stack = moderation_stack  # on_judge_failure = "block" by default: fail closed
    chat = await group(stack, user_id)
    since = len(stack.llm.requests)
    stack.llm.script(UNCERTAIN_TOO, model="gpt-test")
    stack.llm.add_fault("hang", model="judge-test")
    answer = await ask(stack, chat, user_id, "how is my uncle?")
    assert answer["text"] == REFUSAL
    assert "headache" not in await everything_sent(stack, chat["id"])
    assert len(chats(stack, since, "judge-test")) == 1  # asked, and given up on


async def test_a_flagged_question_is_refused_before_the_model_is_asked(
    moderation_stack: Stack, user_id: int
) -> None:
    stack = moderation_stack
    chat = await group(stack, user_id)
    since = len(stack.llm.requests)
    answer = await ask(
        stack, chat, user_id, "which bookmaker has the best odds for tonight's match"
    )
    assert answer["text"] == REFUSAL
    assert not chats(stack, since, "gpt-test")


async def test_private_chats_are_not_filtered(moderation_stack: Stack, user_id: int) -> None:
    stack = moderation_stack  # private = false
    stack.llm.script(FLAGGED)
    await stack.telegram.send(user_id, "who wins the derby?")
    [answer] = await stack.telegram.wait_bot_messages(user_id, 1, timeout=20)
    assert answer["text"] == FLAGGED
    assert "Writing…" not in str(await stack.telegram.drafts(user_id))  # streamed as usual


async def test_group_admins_see_in_settings_that_the_filter_is_on(
    moderation_stack: Stack, user_id: int
) -> None:
    stack = moderation_stack
    chat = await group(stack, user_id)
    await stack.telegram.send(user_id, "/settings", chat=chat)
    [settings] = await stack.telegram.wait_bot_messages(chat["id"], 1, timeout=20)
    assert "🛡 Content filter: on in this chat" in settings["text"]
    await stack.telegram.send(user_id, "/settings")
    [private] = await stack.telegram.wait_bot_messages(user_id, 1, timeout=20)
    assert "Content filter" not in private["text"]


async def test_with_private_on_a_private_draft_counts_words_and_the_answer_is_refused(
    moderation_stack: Stack, user_id: int
) -> None:
    stack = moderation_stack  # last in this file: the stack keeps private = true afterwards
    config = (stack.bot.log_path.parent / "config.toml").read_text(encoding="utf-8")
    extra = config.split(EXTRA_MARK, 1)[1].replace("check_questions = true", "private = true")
    await stack.restart(extra=extra)
    stack.llm.script(FLAGGED)
    stack.llm.set_knobs(token_delay_ms=60)
    await stack.telegram.send(user_id, "who wins the derby?")
    [answer] = await stack.telegram.wait_bot_messages(user_id, 1, timeout=30)
    assert answer["text"] == REFUSAL
    drafts = str(await stack.telegram.drafts(user_id))
    assert "✍️ Writing… (" in drafts
    assert "red team" not in drafts
