"""/moderation, for the bot's operators: the content filter's latest blocks, with the reason
(topic, deciding stage, the local score) and the route and model of the answer; never the
blocked text. In a group it lists that group's blocks, in a private chat everyone's."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.handlers.operators import BotAdmin
from bot.i18n import Translator
from bot.moderation.service import Moderator
from bot.payments.texts import moment
from bot.storage.dto import Chat, ModerationEvent

router = Router(name=__name__)
SHOWN = 10


@router.message(Command("moderation"), BotAdmin())
async def recent_blocks(
    message: Message, t: Translator, chat_record: Chat, moderator: Moderator | None
) -> None:
    if moderator is None:
        await message.answer(t("moderation-off"))
        return
    chat_id = None if chat_record.is_private else chat_record.id
    events = await moderator.recent(SHOWN, chat_id)
    topics = ", ".join(topic.title(t.locale) for topic in moderator.book.topics.values())
    lines = [t("moderation-header", topics=topics)]
    lines += [_line(event, moderator, t) for event in events] or [t("moderation-none")]
    await message.answer("\n".join(lines))


def _line(event: ModerationEvent, moderator: Moderator, t: Translator) -> str:
    topic = moderator.book.topics.get(event.topic or "")
    return t(
        "moderation-line",
        time=moment(event.created_at) if event.created_at else "?",
        chat=str(event.chat_id),
        subject=t(f"moderation-subject-{event.subject}"),
        topic=topic.title(t.locale) if topic else (event.topic or "?"),
        stage=event.stage + (f" ({event.judge_failure})" if event.judge_failure else ""),
        score=f"{event.confidence:.2f}",
        route=event.route or "-",
        model=event.model or "-",
    )
