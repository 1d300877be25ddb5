"""The content filter at work: where it applies, the cascade (local stage, then the judge for
the uncertain band, then the configured failure mode), and the record of blocks."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from bot.chat.ports import Screened, Translate
from bot.moderation.classifier import TopicClassifier
from bot.moderation.config import ModerationConfig
from bot.moderation.judge import UNSURE, ModerationJudge
from bot.moderation.topics import CLEAN, TopicBook
from bot.storage.database import Database
from bot.storage.dto import ModerationEvent

logger = logging.getLogger(__name__)

INLINE_CHARS = 2000
"""Shorter texts are scored on the event loop (at most about 2 ms); longer ones in a thread."""
REMEMBERED = 256  # decisions kept by text hash (a transcript checked, then its question)


class Stage:
    LOCAL = "local"
    JUDGE = "judge"
    UNSURE = "unsure"  # the judge could not tell: the bias decides
    FAILURE = "failure"  # the judge failed, timed out or is off: on_judge_failure decides


@dataclass(frozen=True, slots=True)
class Decision:
    blocked: bool
    topic: str | None
    stage: str
    confidence: float  # the local stage's P(on a topic)
    seconds: float
    local_seconds: float
    judged: bool = False
    judge_failure: str | None = None


class Policy:
    """Where the filter applies; known from the configuration alone (no model is loaded)."""

    def __init__(self, config: ModerationConfig) -> None:
        self._config = config
        self._chosen = frozenset(config.chats)

    def applies(self, chat_id: int, private: bool) -> bool:
        config = self._config
        if not config.enabled:
            return False
        if private:
            return config.private
        return config.groups == "all" or (config.groups == "chosen" and chat_id in self._chosen)


class Moderator:
    """The ContentFilter of `bot.chat.ports`."""

    def __init__(
        self,
        config: ModerationConfig,
        book: TopicBook,
        classifier: TopicClassifier,
        judge: ModerationJudge | None,
        db: Database | None = None,
    ) -> None:
        self._config = config
        self.policy = Policy(config)
        self.book = book
        self.classifier = classifier
        self.judge = judge
        self._db = db
        self._remembered: OrderedDict[bytes, Decision] = OrderedDict()

    @property
    def checks_questions(self) -> bool:
        return self._config.check_questions

    def applies(self, chat_id: int, private: bool) -> bool:
        return self.policy.applies(chat_id, private)

    def replace(
        self, book: TopicBook, classifier: TopicClassifier, judge: ModerationJudge | None
    ) -> None:
        """New topic files are in service (a hot reload)."""
        self.book, self.classifier, self.judge = book, classifier, judge
        self._remembered.clear()

    async def decide(self, text: str, *, use_judge: bool = True) -> Decision:
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        remembered = self._remembered.get(key)
        if remembered is not None and use_judge:
            return remembered
        decision = await self._decide(text, use_judge)
        if use_judge:
            self._remembered[key] = decision
            while len(self._remembered) > REMEMBERED:
                self._remembered.popitem(last=False)
        return decision

    async def _decide(self, text: str, use_judge: bool) -> Decision:
        started = time.perf_counter()
        classifier = self.classifier
        if len(text) <= INLINE_CHARS:
            score = classifier.score(text)
        else:
            score = await asyncio.to_thread(classifier.score, text)
        local = time.perf_counter() - started
        thresholds = classifier.thresholds
        p = score.flagged
        if p < thresholds.allow_below or p >= thresholds.block_from:
            blocked = p >= thresholds.block_from
            return Decision(blocked, score.topic if blocked else None, Stage.LOCAL, p, local, local)
        judge = self.judge if use_judge and self._config.judge else None
        verdict = await judge.judge(text) if judge is not None else None
        elapsed = time.perf_counter() - started
        if verdict is not None and verdict.topic not in (None, UNSURE):
            blocked = verdict.topic != CLEAN
            topic = verdict.topic if blocked else None
            return Decision(blocked, topic, Stage.JUDGE, p, elapsed, local, judged=True)
        if verdict is not None and verdict.topic == UNSURE:
            blocked = self._config.bias == "block" or p >= 0.5
            return Decision(
                blocked, score.topic if blocked else None, Stage.UNSURE, p, elapsed, local, True
            )
        blocked = self._config.on_judge_failure == "block"
        failure = verdict.failure if verdict is not None else "off"
        return Decision(
            blocked,
            score.topic if blocked else None,
            Stage.FAILURE,
            p,
            elapsed,
            local,
            judged=verdict is not None,
            judge_failure=failure,
        )

    async def refusal(self, text: str, about: Screened, t: Translate) -> str | None:
        if not text.strip():
            return None
        decision = await self.decide(text)
        if not decision.blocked:
            return None
        logger.warning(
            "moderation: blocked the %s of answer %s in chat %s: topic %s (stage %s, p=%.2f%s), "
            "route %s, model %s",
            about.subject,
            about.answer_id,
            about.chat_id,
            decision.topic,
            decision.stage,
            decision.confidence,
            f", judge {decision.judge_failure}" if decision.judge_failure else "",
            about.route,
            about.model,
        )
        await self._record(about, decision)
        return self.refusal_text(t)

    def refusal_text(self, t: Translate) -> str:
        configured = self._config.refusal
        return configured.get(t.locale) or configured.get("en") or t("moderation-refusal")

    async def _record(self, about: Screened, decision: Decision) -> None:
        if self._db is None:
            return
        event = ModerationEvent(
            chat_id=about.chat_id,
            user_id=about.user_id,
            answer_id=about.answer_id,
            subject=about.subject,
            topic=decision.topic,
            stage=decision.stage,
            confidence=round(decision.confidence, 4),
            route=about.route,
            model=about.model,
            judge_failure=decision.judge_failure,
        )
        try:
            await self._db.write(lambda uow: uow.moderation.add(event))
        except Exception:  # the block stands even if its record could not be written
            logger.exception("moderation: the block in chat %s was not recorded", about.chat_id)

    async def recent(self, limit: int, chat_id: int | None = None) -> list[ModerationEvent]:
        if self._db is None:
            return []
        return await self._db.read(lambda uow: uow.moderation.recent(limit, chat_id))
