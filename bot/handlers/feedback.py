"""👍/👎 presses under answers."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.chat.feedback import FeedbackService, VoteOutcome
from bot.i18n import Translator
from bot.keyboards.feedback import LIKE, FeedbackChoice

router = Router(name=__name__)

TOASTS = {
    VoteOutcome.RECORDED: "feedback-thanks",
    VoteOutcome.CHANGED: "feedback-changed",
    VoteOutcome.UNCHANGED: "feedback-unchanged",
}


@router.callback_query(FeedbackChoice.filter())
async def vote(
    query: CallbackQuery, callback_data: FeedbackChoice, t: Translator, feedback: FeedbackService
) -> None:
    chat_id = query.message.chat.id if query.message is not None else None
    if chat_id is None or callback_data.value not in (1, -1):
        await query.answer(t("feedback-unknown"), show_alert=True)
        return
    outcome = await feedback.vote(
        chat_id, callback_data.message_id, query.from_user.id, callback_data.value
    )
    if outcome is VoteOutcome.UNKNOWN_ANSWER:
        await query.answer(t("feedback-unknown"), show_alert=True)
        return
    liked = callback_data.value == LIKE
    mark = t("feedback-like-button") if liked else t("feedback-dislike-button")
    await query.answer(t(TOASTS[outcome], vote=mark))
