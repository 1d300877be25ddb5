"""The cascade: rules, then the local classifier, then the LLM judge, then the default route."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from enum import StrEnum

from bot.routing.calibration import Calibration
from bot.routing.classifier import LocalClassifier, Score
from bot.routing.judge import LLMJudge
from bot.routing.routes import MAX_ROUTED_CHARS, RouteBook

_EXPLICIT = re.compile(r"^#([a-z][a-z0-9_]{0,31})\b\s*", re.IGNORECASE)
_WORD = re.compile(r"\w+")


class Stage(StrEnum):
    RULE = "rule"  # an explicit #route tag
    LOCAL = "local"  # the classifier cleared the route's threshold
    PRIOR = "prior"  # a short follow-up kept the previous route
    JUDGE = "judge"
    DEFAULT = "default"  # nobody was sure


@dataclass(frozen=True, slots=True)
class Decision:
    route: str
    stage: Stage
    confidence: float  # the local classifier's probability of the chosen route (1.0 for rules)
    scores: tuple[Score, ...] = ()  # the classifier's top routes
    seconds: float = 0.0
    judge_seconds: float | None = None
    judge_failure: str | None = None
    needs: frozenset[str] = field(default_factory=frozenset)  # capabilities the model needs
    text: str = ""  # the message without an explicit #route tag


class Router:
    def __init__(
        self,
        book: RouteBook,
        classifier: LocalClassifier,
        calibration: Calibration,
        judge: LLMJudge | None = None,
        *,
        followup_max_words: int = 4,
    ) -> None:
        self.book = book
        self.classifier = classifier
        self.calibration = calibration
        self.judge = judge
        self._followup_words = followup_max_words

    def explicit(self, text: str) -> tuple[str, str] | None:
        """`#code how do I ...` -> ("code", "how do I ..."), for a known route id only."""
        match = _EXPLICIT.match(text)
        if match and match.group(1).lower() in self.book:
            return match.group(1).lower(), text[match.end() :]
        return None

    def decide_local(
        self, text: str, *, previous: str | None = None, needs: frozenset[str] = frozenset()
    ) -> Decision:
        """Everything but the judge: what the bot does when no judge is reachable, minus the
        fallback. The result's stage is DEFAULT when the judge would be asked."""
        started = time.perf_counter()
        explicit = self.explicit(text)
        if explicit is not None:
            route, rest = explicit
            return Decision(
                route, Stage.RULE, 1.0, (), time.perf_counter() - started, needs=needs, text=rest
            )
        scores = self.classifier.scores(text[:MAX_ROUTED_CHARS])
        top = scores[0]
        best = tuple(scores[:3])
        if top.confidence >= self.calibration.threshold(top.route):
            stage, route = Stage.LOCAL, top.route
        elif previous in self.book and self._is_followup(text):
            stage, route = Stage.PRIOR, str(previous)
        else:
            stage, route = Stage.DEFAULT, self.book.default
        confidence = next((s.confidence for s in scores if s.route == route), 0.0)
        elapsed = time.perf_counter() - started
        return Decision(route, stage, confidence, best, elapsed, needs=needs, text=text)

    async def decide(
        self,
        text: str,
        *,
        previous: str | None = None,
        needs: frozenset[str] = frozenset(),
        use_judge: bool = True,
    ) -> Decision:
        local = self.decide_local(text, previous=previous, needs=needs)
        if local.stage is not Stage.DEFAULT or self.judge is None or not use_judge:
            return local
        if not text.strip():
            return local
        verdict = await self.judge.judge(text, previous)
        route = verdict.route or self.book.default
        confidence = next((s.confidence for s in local.scores if s.route == route), 0.0)
        return Decision(
            route,
            Stage.JUDGE if verdict.route else Stage.DEFAULT,
            confidence,
            local.scores,
            local.seconds + verdict.seconds,
            judge_seconds=verdict.seconds,
            judge_failure=verdict.failure,
            needs=needs,
            text=text,
        )

    def _is_followup(self, text: str) -> bool:
        return 0 < len(_WORD.findall(text)) <= self._followup_words
