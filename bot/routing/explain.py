"""What `/route <text>` tells an operator about one decision."""

from __future__ import annotations

from bot.chat.ports import Translate
from bot.routing.router import Stage
from bot.routing.service import RoutingService
from bot.storage.dto import Chat

TOP_ROUTES = 3


async def explain_decision(routing: RoutingService, chat: Chat, text: str, t: Translate) -> str:
    """Decide `text` as a message of `chat` would be decided (without the follow-up prior)
    and describe it: stage, top routes with confidences, threshold, time, and model."""
    router = routing.router
    if router is None:
        return t("route-off")
    decision = await router.decide(text)
    lines = [
        t(
            "route-explain",
            route=decision.route,
            stage=t(f"route-stage-{decision.stage.value}"),
            ms=f"{decision.seconds * 1000:.1f}",
        )
    ]
    for score in decision.scores[:TOP_ROUTES]:
        lines.append(
            t(
                "route-explain-score",
                route=score.route,
                confidence=f"{score.confidence:.2f}",
                threshold=_threshold(router.calibration.threshold(score.route)),
            )
        )
    if decision.stage in (Stage.JUDGE, Stage.DEFAULT) and decision.judge_seconds is not None:
        outcome = decision.judge_failure or "ok"
        lines.append(
            t(
                "route-explain-judge",
                model=router.judge.model.spec.display_name if router.judge else "-",
                ms=f"{decision.judge_seconds * 1000:.0f}",
                outcome=outcome,
            )
        )
    model = routing.model_for(chat, decision.route, decision.needs)
    lines.append(t("route-explain-model", model=model.spec.display_name))
    return "\n".join(lines)


def _threshold(value: float) -> str:
    return "—" if value > 1 else f"{value:.2f}"
