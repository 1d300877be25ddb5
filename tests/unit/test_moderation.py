"""The content filter's parts: where it applies, the cascade's decisions (a fake local stage
and judge at our own ports), failure modes and bias, the record of blocks on real SQLite,
threshold calibration, windows, topic file validation and the eval report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from bot.chat.ports import Screened
from bot.moderation.calibration import Thresholds, choose_thresholds
from bot.moderation.classifier import Score, TopicClassifier, windows
from bot.moderation.config import ModerationConfig
from bot.moderation.evaluate import Example, report
from bot.moderation.judge import UNSURE, JudgeVerdict, ModerationJudge
from bot.moderation.service import Moderator, Policy, Stage
from bot.moderation.topics import CLEAN, TopicBook, TopicFileError, load_topics
from bot.storage.database import Database

THRESHOLDS = Thresholds(0.2, 0.8, 0, 0, 0, 0, 0.0, 0.0)
SHIPPED = Path(__file__).parents[2] / "moderation"


class FakeClassifier:
    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.thresholds = THRESHOLDS

    def score(self, text: str) -> Score:
        return Score(self.scores[text], "gambling")


class FakeJudge:
    def __init__(self, topic: str | None, failure: str | None = None) -> None:
        self.verdict = JudgeVerdict(topic, 0.01, failure)
        self.asked: list[str] = []

    async def judge(self, text: str) -> JudgeVerdict:
        self.asked.append(text)
        return self.verdict


def moderator(
    scores: dict[str, float], judge: FakeJudge | None, db: Any = None, **config: Any
) -> Moderator:
    settings = ModerationConfig(enabled=True, **config)
    book = TopicBook({}, "digest")
    return Moderator(
        settings,
        book,
        cast(TopicClassifier, FakeClassifier(scores)),
        cast(ModerationJudge, judge),
        db,
    )


class T:
    locale = "en"

    def __call__(self, key: str, **args: object) -> str:
        return f"<{key}>"


ABOUT = Screened("answer", -100, 7, 42, "chat", "gpt")


def test_the_filter_applies_where_configured() -> None:
    everywhere = Policy(ModerationConfig(enabled=True))
    assert everywhere.applies(-100, private=False)
    assert not everywhere.applies(5, private=True)  # private chats only when asked
    chosen = Policy(ModerationConfig(enabled=True, groups="chosen", chats=[-100], private=True))
    assert chosen.applies(-100, private=False)
    assert not chosen.applies(-200, private=False)
    assert chosen.applies(5, private=True)
    assert not Policy(ModerationConfig(enabled=False)).applies(-100, private=False)


async def test_the_local_stage_decides_clear_texts_and_the_judge_the_rest() -> None:
    judge = FakeJudge("gambling")
    filter_ = moderator({"clean": 0.05, "flagged": 0.95, "unsure": 0.5}, judge)
    assert not (await filter_.decide("clean")).blocked
    decided = await filter_.decide("flagged")
    assert (decided.blocked, decided.stage, decided.topic) == (True, Stage.LOCAL, "gambling")
    assert judge.asked == []
    judged = await filter_.decide("unsure")
    assert (judged.blocked, judged.stage) == (True, Stage.JUDGE)
    assert judge.asked == ["unsure"]
    await filter_.decide("unsure")
    assert judge.asked == ["unsure"]  # the verdict is remembered for the same text
    cleared = moderator({"unsure": 0.5}, FakeJudge(CLEAN))
    assert not (await cleared.decide("unsure")).blocked


@pytest.mark.parametrize(
    ("judge", "config", "blocked"),
    [
        (FakeJudge(None, "timeout"), {}, True),  # fail closed, the default
        (FakeJudge(None, "timeout"), {"on_judge_failure": "allow"}, False),
        (None, {}, True),  # no judge: the failure mode decides
        (FakeJudge(UNSURE), {"bias": "block"}, True),
        (FakeJudge(UNSURE), {"bias": "balanced"}, False),  # p 0.3 < 0.5
    ],
    ids=["timeout-closed", "timeout-open", "no-judge", "unsure-block", "unsure-balanced"],
)
async def test_failures_and_doubts_follow_the_configuration(
    judge: FakeJudge | None, config: dict[str, Any], blocked: bool
) -> None:
    filter_ = moderator({"text": 0.3}, judge, **config)
    assert (await filter_.decide("text")).blocked is blocked


async def test_a_block_is_refused_and_recorded_without_the_text(db: Database) -> None:
    filter_ = moderator({"secret text": 0.9, "fine": 0.0}, None, db)
    assert await filter_.refusal("fine", ABOUT, T()) is None
    assert await filter_.refusal("secret text", ABOUT, T()) == "<moderation-refusal>"
    [event] = await filter_.recent(10)
    assert (event.chat_id, event.user_id, event.answer_id) == (-100, 7, 42)
    assert (event.topic, event.stage, event.route, event.model) == (
        "gambling",
        "local",
        "chat",
        "gpt",
    )
    assert "secret" not in repr(event)
    assert await filter_.recent(10, chat_id=-200) == []
    configured = moderator({"secret text": 0.9}, None, refusal={"en": "Not here."})
    assert await configured.refusal("secret text", ABOUT, T()) == "Not here."


def test_thresholds_keep_their_error_bounds() -> None:
    # 300 clean texts scoring low, 100 flagged scoring high, a few of each in between.
    scores = [0.01] * 300 + [0.3] * 10 + [0.97] * 100 + [0.6] * 10
    flagged = [False] * 300 + [True] * 5 + [False] * 5 + [True] * 100 + [True, False] * 5
    chosen = choose_thresholds(scores, flagged, 0.02, 0.1)
    # The strictest thresholds that admit what they admit: a looser one that admits nothing
    # more was never tested. 0.35 would let 5 flagged through; 0.5 blocks nothing more.
    assert chosen.allow_below == pytest.approx(0.02)
    assert chosen.allowed == 300
    assert chosen.block_from == pytest.approx(0.6)  # 5 clean of 110 blocked: bound < 0.1
    assert chosen.wrongly_blocked == 5
    assert chosen.missed == 0
    assert chosen.miss_bound <= 0.02
    assert chosen.false_block_bound <= 0.1


def test_long_texts_are_checked_in_windows_of_a_few_sentences() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "Word " * 60 for i in range(60))
    pieces = windows(text)
    assert 1 < len(pieces) <= 32
    assert pieces[0].startswith("Paragraph 0. Word")
    assert "Paragraph 59." not in " ".join(pieces)  # past 16,000 characters: not read
    assert windows("short") == ["short"]


def test_topic_files_are_validated(tmp_path: Path) -> None:
    book = load_topics(SHIPPED)
    assert book.ids == ("drugs", "gambling")
    _, labels = book.training_data(["how to cook rice", "how to cook rice"])
    assert (
        labels.count(CLEAN)
        == sum(len(t) for topic in book.topics.values() for t in topic.allowed.values()) + 1
    )
    bad = tmp_path / "betting.md"
    bad.write_text(
        "---\nid: betting\nname: {en: B, ru: Б}\ndescription: bets and odds\n"
        "examples: {en: [a], ru: [б]}\n---\n",
        encoding="utf-8",
    )
    with pytest.raises(TopicFileError, match=r"betting\.md: examples: en has 1 examples"):
        load_topics(tmp_path)


def test_the_report_counts_precision_recall_and_the_judge_share() -> None:
    from bot.moderation.service import Decision

    examples = [Example("a", True, "en"), Example("b", True, "ru"), Example("c", False, "en")]
    decisions = [
        Decision(True, "x", Stage.LOCAL, 0.9, 0.001, 0.001),
        Decision(False, None, Stage.LOCAL, 0.1, 0.002, 0.002),
        Decision(True, "x", Stage.JUDGE, 0.5, 0.3, 0.003, judged=True),
    ]
    result = report(examples, decisions)
    assert (result["precision"], result["recall"]) == (0.5, 0.5)
    assert result["judge_share"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["band"] == {"blocked_in_truth": 0, "clean_in_truth": 1}
    assert result["per_language"]["ru"]["recall"] == 0.0
