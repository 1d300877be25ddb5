"""What a finished answer says: stopped, failed, empty, cut at the length limit, or complete
with its notes and the optional model footer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.chat.ports import AnswerView, Part, Translate
from bot.chat.turn import ERROR_KEYS, Outcome
from bot.llm.types import FinishReason
from bot.routing.service import TurnPlan
from bot.storage.dto import Chat


@dataclass(frozen=True, slots=True)
class Final:
    """The last thing the user reads of a turn: an answer (Markdown, with feedback buttons
    when `rated`) or a plain notice."""

    text: str
    notice: bool = False
    rated: bool = False

    def parts(self, view: AnswerView, answer_id: int) -> list[Part]:
        if self.notice:
            return view.notice_parts(self.text)
        return view.final_parts(self.text, answer_id if self.rated else None)


def final_message(
    chat: Chat, plan: TurnPlan, outcome: Outcome, t: Translate, notes: Sequence[str]
) -> Final:
    text = outcome.text
    if outcome.stopped:
        if not text:
            return Final(t("answer-stopped"), notice=True)
        return Final(f"{text}\n\n{t('answer-stopped')}", rated=True)
    if outcome.error is not None:
        reason = t(ERROR_KEYS[outcome.error.kind])
        if not text:
            return Final(reason, notice=True)
        return Final(f"{text}\n\n{t('answer-interrupted', reason=reason)}")
    if not text.strip():
        # A picture sent by a tool is an answer of its own; the model need not add words.
        key = "answer-pictures-only" if outcome.pictures else "answer-empty"
        return Final(t(key), notice=True)
    if outcome.finish is FinishReason.LENGTH:
        text = f"{text}\n\n{t('answer-truncated')}"
    for note in notes:
        text = f"{text}\n\n_{note}_"
    if chat.show_footer:
        text = f"{text}\n\n_{_footer(plan, t)}_"
    return Final(text, rated=True)


def _footer(plan: TurnPlan, t: Translate) -> str:
    model = plan.model.spec.display_name
    if plan.decision is None:
        return t("answer-footer", model=model)
    return t("answer-footer-routed", model=model, route=plan.decision.route)
