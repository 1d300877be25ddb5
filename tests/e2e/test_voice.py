"""Voice messages through the real bot: the committed OGG/Opus recording is downloaded from
the sandbox, transcribed by the scripted server's /v1/audio/transcriptions (through the
official openai SDK) and answered; recordings that are too long, not audio, or met by a
transcription server that is down get one clear message each and leave nothing behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.e2e.conftest import PROJECT_ROOT, Stack
from tests.e2e.test_chat import count_bot_messages

pytestmark = pytest.mark.e2e

VOICE = (PROJECT_ROOT / "tests/data/voice/hello_en.ogg").read_bytes()
HEARD = "This is the sandbox transcript of a 3-second recording."  # read from the file itself


def transcriptions(stack: Stack, since: int) -> list[dict[str, Any]]:
    return [r for r in stack.llm.requests[since:] if r["path"] == "/v1/audio/transcriptions"]


def chats(stack: Stack, since: int) -> list[dict[str, Any]]:
    return [r for r in stack.llm.requests[since:] if r["path"] == "/v1/chat/completions"]


async def voice(
    stack: Stack, user_id: int, content: bytes = VOICE, count: int = 1, **fields: Any
) -> list[dict[str, Any]]:
    """Send a recording; the bot's `count` next messages in that chat."""
    chat_id = fields["chat"]["id"] if fields.get("chat") else user_id
    before = await count_bot_messages(stack, chat_id)
    await stack.telegram.send_voice(user_id, content, **fields)
    messages = await stack.telegram.wait_bot_messages(chat_id, before + count, timeout=20)
    return messages[before:]


async def test_a_voice_message_is_transcribed_shown_and_answered(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    since = len(stack.llm.requests)
    stack.llm.script("Paris is the capital of France.")
    shown, answer = await voice(stack, user_id, count=2, caption="Answer briefly")
    assert shown["text"] == f"🎙 Transcript:\n{HEARD}"
    assert shown["entities"] == [
        {"type": "blockquote", "offset": 15, "length": len(HEARD)}
    ]  # short: an ordinary quote
    assert answer["text"] == "Paris is the capital of France."
    [heard] = transcriptions(stack, since)
    assert heard["body"]["model"] == "whisper-test"
    assert heard["body"]["file_bytes"] == len(VOICE)  # the real file went through, whole
    assert heard["body"]["file_name"] == "audio.ogg"
    [asked] = chats(stack, since)
    # As if typed: the transcript, then the caption, is the user's message.
    assert asked["body"]["messages"][-1]["content"] == f"{HEARD}\n\nAnswer briefly"


async def test_a_long_transcript_is_collapsed_and_a_reply_to_a_recording_joins_it(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    long = "I was thinking about the trip. " * 20
    stack.llm.stenographer.script(long.strip())
    stack.llm.script("Sounds like a plan.")
    shown, _ = await voice(stack, user_id, count=2)
    assert shown["entities"][0]["type"] == "expandable_blockquote"
    # A later text that replies to a recording gets its transcript too.
    since = len(stack.llm.requests)
    stack.llm.stenographer.script("Buy milk and bread.")
    stack.llm.script("Noted.")
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.send(
        user_id, "make a list of this", reply_to_message_id=shown["reply_to_message_id"]
    )
    await stack.telegram.wait_bot_messages(user_id, before + 1, timeout=20)
    [asked] = chats(stack, since)
    assert asked["body"]["messages"][-1]["content"] == "Buy milk and bread.\n\nmake a list of this"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"duration": 3600}, "This recording is too long for me: I listen to at most 5 min."),
        (
            {"content": b"PK\x03\x04 not audio at all", "kind": "audio", "file_name": "a.mp3"},
            "I cannot read this recording's format.",
        ),
    ],
    ids=["too-long", "not-audio"],
)
async def test_a_recording_that_cannot_be_used_gets_one_message_and_leaves_nothing(
    polling_stack: Stack, user_id: int, fields: dict[str, Any], expected: str
) -> None:
    stack = polling_stack
    since = len(stack.llm.requests)
    content = fields.pop("content", VOICE)
    [refusal] = await voice(stack, user_id, content, **fields)
    assert refusal["text"].startswith(expected)
    assert not transcriptions(stack, since)  # refused before any transcription
    await _nothing_was_stored(stack, user_id, since)


async def test_a_transcription_server_that_is_down_gets_a_clear_message(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    since = len(stack.llm.requests)
    stack.llm.add_fault("status", status=503, times=10, model="whisper-test")
    [refusal] = await voice(stack, user_id)
    assert refusal["text"].startswith("Speech recognition is not available right now")
    assert len(transcriptions(stack, since)) == 3  # the SDK's own retries, then the message
    await _nothing_was_stored(stack, user_id, since)


async def _nothing_was_stored(stack: Stack, user_id: int, since: int) -> None:
    """The next message's request carries no trace of the refused recording."""
    stack.llm.reset()
    stack.llm.script("Hello again.")
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.send(user_id, "hello")
    await stack.telegram.wait_bot_messages(user_id, before + 1, timeout=20)
    [asked] = chats(stack, 0)
    user_turns = [m for m in asked["body"]["messages"] if m["role"] == "user"]
    assert [m["content"] for m in user_turns] == ["hello"]
    assert not chats(stack, 0)[:-1]


async def test_in_a_group_a_recording_is_answered_only_when_addressed(
    polling_stack: Stack, user_id: int
) -> None:
    stack = polling_stack
    chat: dict[str, Any] = {"id": -1_000_000_000_000 - user_id, "type": "supergroup"}
    await stack.telegram.group(chat, admins=[user_id], members=[user_id + 1])
    [named] = await voice_text(stack, chat, user_id, "/setshortname Robo")
    assert "Robo" in named["text"]
    since = len(stack.llm.requests)
    # Chatter: transcribed to look for the name, then forgotten.
    stack.llm.stenographer.script("See you all tomorrow.")
    await stack.telegram.send_voice(user_id + 1, VOICE, chat=chat)
    # Addressed by the short name at the start of what was said.
    stack.llm.stenographer.script("Robo, what is two plus two?")
    stack.llm.script("Four.")
    shown, answer = await voice(stack, user_id + 1, count=2, chat=chat)
    assert shown["text"].endswith("Robo, what is two plus two?")
    assert await final_text(stack, chat["id"], answer["message_id"]) == "Four."
    assert len(transcriptions(stack, since)) == 2
    [asked] = chats(stack, since)
    assert asked["body"]["messages"][-1]["content"] == "what is two plus two?"
    assert await count_bot_messages(stack, chat["id"]) == 3  # the chatter got nothing


async def test_without_a_transcription_model_recordings_get_a_polite_refusal(
    moderation_stack: Stack, user_id: int
) -> None:
    stack = moderation_stack  # configured without a model that transcribes
    [refusal] = await voice(stack, user_id)
    assert refusal["text"].startswith("I cannot listen to voice messages in this bot")
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.send(user_id, "/help")
    [help_text] = (await stack.telegram.wait_bot_messages(user_id, before + 1))[before:]
    assert help_text["text"].startswith("Write a message and I will answer.")
    assert "voice message" not in help_text["text"]  # /help offers only what works


async def test_help_says_voice_messages_are_answered(polling_stack: Stack, user_id: int) -> None:
    before = await count_bot_messages(polling_stack, user_id)
    await polling_stack.telegram.send(user_id, "/help")
    [help_text] = (await polling_stack.telegram.wait_bot_messages(user_id, before + 1))[before:]
    assert help_text["text"].endswith(
        "Send a voice message, an audio file or a video note: I transcribe it, show you the "
        "transcript and answer it as if you had typed it."
    )


async def test_minutes_of_audio_count_against_the_plan(payments_stack: Stack, user_id: int) -> None:
    stack = payments_stack  # the free plan has 2 minutes of audio a day
    since = len(stack.llm.requests)
    [refusal] = await voice(stack, user_id, duration=150)
    assert refusal["text"].startswith(
        "Voice messages this long are not included in the Free plan (up to 2 min)"
    )
    stack.llm.script("One.")
    await voice(stack, user_id, count=2, duration=100)
    [second] = await voice(stack, user_id, duration=30)
    assert second["text"].startswith("You have used your 2 min of voice messages on the Free plan")
    assert len(transcriptions(stack, since)) == 1
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.send(user_id, "/limits")
    [limits] = (await stack.telegram.wait_bot_messages(user_id, before + 1, timeout=20))[before:]
    assert "Voice messages: 0.3 of 2 min (per 24 h)" in limits["text"]


async def final_text(stack: Stack, chat_id: int, message_id: int) -> str:
    """A group's answer once its placeholder shows the final text."""
    text = ""
    for _ in range(300):
        messages = await stack.telegram.bot_messages(chat_id)
        text = next(m["text"] for m in messages if m["message_id"] == message_id)
        if not text.startswith("✍️"):
            break
        await asyncio.sleep(0.05)
    return text


async def voice_text(
    stack: Stack, chat: dict[str, Any], user_id: int, text: str
) -> list[dict[str, Any]]:
    before = await count_bot_messages(stack, chat["id"])
    await stack.telegram.send(user_id, text, chat=chat)
    messages = await stack.telegram.wait_bot_messages(chat["id"], before + 1, timeout=20)
    return messages[before:]
