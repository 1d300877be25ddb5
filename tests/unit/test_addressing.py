"""Group messages are for the bot when they mention it, reply to it, or use its short name."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.types import Chat, Message, User

from bot.telegram.addressing import addressed_text

ME = User(id=1, is_bot=True, first_name="Bot", username="sandbox_bot")
HUMAN = User(id=2, is_bot=False, first_name="Ann")
GROUP = Chat(id=-100, type="supergroup", title="G")


def message(text: str, reply_to: Message | None = None) -> Message:
    return Message(
        message_id=10,
        date=datetime.now(UTC),
        chat=GROUP,
        from_user=HUMAN,
        text=text,
        reply_to_message=reply_to,
    )


def test_mention_is_removed_and_punctuation_kept() -> None:
    assert addressed_text(message("@sandbox_bot what is 2+2?"), ME, None) == "what is 2+2?"
    assert addressed_text(message("so, @Sandbox_Bot, why?"), ME, None) == "so, why?"


def test_short_name_must_start_the_message_as_a_word() -> None:
    assert addressed_text(message("Polly, translate this!"), ME, "polly") == "translate this!"
    assert addressed_text(message("Pollyanna is a novel"), ME, "polly") is None
    assert addressed_text(message("hello polly"), ME, "polly") is None


def test_reply_to_the_bot_counts_and_other_chatter_does_not() -> None:
    bot_message = Message(
        message_id=5, date=datetime.now(UTC), chat=GROUP, from_user=ME, text="answer"
    )
    human_message = Message(
        message_id=6, date=datetime.now(UTC), chat=GROUP, from_user=HUMAN, text="hi"
    )
    assert addressed_text(message("and then?", bot_message), ME, None) == "and then?"
    assert addressed_text(message("and then?", human_message), ME, None) is None
    assert addressed_text(message("just chatting"), ME, "polly") is None
