"""How a finished answer is delivered: stopped, failed, empty, cut at the length limit, or
complete with its notes and the optional model footer."""

from __future__ import annotations

from bot.chat.ports import AnswerView, Translate
from bot.chat.turn import ERROR_KEYS, Outcome
from bot.llm.types import FinishReason
from bot.routing.service import TurnPlan
from bot.storage.dto import Chat


async def deliver(
    chat: Chat,
    plan: TurnPlan,
    view: AnswerView,
    outcome: Outcome,
    answer_id: int,
    t: Translate,
    notes: list[str],
) -> list[int]:
    text = outcome.text
    if outcome.stopped:
        if not text:
            return await view.notice(t("answer-stopped"))
        return await view.finish(f"{text}\n\n{t('answer-stopped')}", answer_id)
    if outcome.error is not None:
        reason = t(ERROR_KEYS[outcome.error.kind])
        if not text:
            return await view.notice(reason)
        return await view.finish(f"{text}\n\n{t('answer-interrupted', reason=reason)}")
    if not text.strip():
        # A picture sent by a tool is an answer of its own; the model need not add words.
        return await view.notice(t("answer-pictures-only" if outcome.pictures else "answer-empty"))
    if outcome.finish is FinishReason.LENGTH:
        text = f"{text}\n\n{t('answer-truncated')}"
    for note in notes:
        text = f"{text}\n\n_{note}_"
    if chat.show_footer:
        text = f"{text}\n\n_{_footer(plan, t)}_"
    return await view.finish(text, answer_id)


def _footer(plan: TurnPlan, t: Translate) -> str:
    model = plan.model.spec.display_name
    if plan.decision is None:
        return t("answer-footer", model=model)
    return t("answer-footer-routed", model=model, route=plan.decision.route)
