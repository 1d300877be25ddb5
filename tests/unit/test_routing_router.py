"""The cascade, stage by stage, on the shipped route files: rules, local classifier, prior for
short follow-ups, judge (a fake model here; real SDKs in test_routing_judge), default."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import ChatRequest, LLMError, LLMErrorKind, StreamEvent, TextDelta
from bot.routing.calibration import Calibration
from bot.routing.classifier import LocalClassifier, load_or_train
from bot.routing.judge import LLMJudge
from bot.routing.router import Router, Stage
from bot.routing.routes import RouteBook, load_routes

ROUTES = Path(__file__).parents[2] / "routes"


class FakeJudgeModel:
    """Answers every request with `answer` after `delay` seconds, or raises `error`."""

    def __init__(self, answer: str = "", *, delay: float = 0.0, error: LLMError | None = None):
        self.answer, self.delay, self.error = answer, delay, error
        self.requests: list[ChatRequest] = []

    @property
    def spec(self) -> ModelSpec:
        caps = ModelCapabilities(False, False, True, False, 8000, 100)
        return ModelSpec("judge", "Judge", "p", "judge", caps)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self.requests.append(request)
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        yield TextDelta(self.answer)


@pytest.fixture(scope="module")
def book() -> RouteBook:
    return load_routes(ROUTES)


@pytest.fixture(scope="module")
def classifier(book: RouteBook) -> LocalClassifier:
    return load_or_train(book, None)


def router(
    book: RouteBook, classifier: LocalClassifier, judge: FakeJudgeModel | None = None
) -> Router:
    calibration = Calibration.load(ROUTES / "calibration.json")
    llm_judge = LLMJudge(judge, book, timeout=0.3) if judge is not None else None
    return Router(book, classifier, calibration, llm_judge, followup_max_words=4)


def test_an_explicit_tag_is_a_rule_and_is_removed(
    book: RouteBook, classifier: LocalClassifier
) -> None:
    decision = router(book, classifier).decide_local("#Translate good morning, my friend")
    assert (decision.route, decision.stage, decision.text) == (
        "translate",
        Stage.RULE,
        "good morning, my friend",
    )
    unknown = router(book, classifier).decide_local("#python why is this slow")
    assert unknown.stage is not Stage.RULE
    assert unknown.text == "#python why is this slow"


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("how do I undo the last git commit", "code"),
        ("как откатить последний коммит в git", "code"),
        ("solve 2x + 6 = 14", "math"),
        ("переведи на английский: я опаздываю на работу", "translate"),
        ("write a birthday poem for my grandma", "writing"),
        ("нарисуй кота в космосе", "image"),
        ("what's the weather in Berlin tomorrow", "search"),
        ("hi, how are you?", "chat"),
    ],
)
def test_clear_messages_are_decided_locally(
    book: RouteBook, classifier: LocalClassifier, text: str, route: str
) -> None:
    decision = router(book, classifier).decide_local(text)
    assert (decision.route, decision.stage) == (route, Stage.LOCAL)
    assert decision.scores[0].route == route
    assert decision.confidence == decision.scores[0].confidence


def test_a_short_unsure_follow_up_keeps_the_previous_route(
    book: RouteBook, classifier: LocalClassifier
) -> None:
    cascade = router(book, classifier)
    assert cascade.decide_local("and in Rust?").stage is Stage.DEFAULT
    follow_up = cascade.decide_local("and in Rust?", previous="code")
    assert (follow_up.route, follow_up.stage) == ("code", Stage.PRIOR)
    long_unsure = "qqq zzz www vvv xxx yyy"  # more words than a follow-up has
    assert cascade.decide_local(long_unsure, previous="code").stage is Stage.DEFAULT


async def test_an_unsure_message_is_judged_and_the_verdict_used(
    book: RouteBook, classifier: LocalClassifier
) -> None:
    judge = FakeJudgeModel('{"route": "writing"}')
    decision = await router(book, classifier, judge).decide("qqq zzz www")
    assert (decision.route, decision.stage) == ("writing", Stage.JUDGE)
    [request] = judge.requests
    assert request.response_schema is not None
    assert "writing" in request.response_schema.schema["properties"]["route"]["enum"]
    assert request.turns[0].plain_text == "qqq zzz www"
    confident = await router(book, classifier, judge).decide("solve 2x + 6 = 14")
    assert confident.stage is Stage.LOCAL
    assert len(judge.requests) == 1  # a confident local decision costs no judge call


@pytest.mark.parametrize(
    ("judge", "failure"),
    [
        (FakeJudgeModel('{"route": "unsure"}'), "unsure"),
        (FakeJudgeModel("I think it is about poetry"), "unparsable"),
        (FakeJudgeModel('{"route": "astrology"}'), "unparsable"),
        (FakeJudgeModel(error=LLMError(LLMErrorKind.UNAVAILABLE, "down")), "error"),
        (FakeJudgeModel('{"route": "code"}', delay=5.0), "timeout"),
    ],
)
async def test_a_judge_that_is_unsure_fails_or_hangs_gives_the_default_route(
    book: RouteBook, classifier: LocalClassifier, judge: FakeJudgeModel, failure: str
) -> None:
    started = time.monotonic()
    decision = await router(book, classifier, judge).decide("qqq zzz www")
    assert (decision.route, decision.stage, decision.judge_failure) == (
        "chat",
        Stage.DEFAULT,
        failure,
    )
    assert time.monotonic() - started < 2.0  # the 0.3 s timeout bounds a hanging judge


def test_lax_judges_answering_a_bare_id_are_understood(book: RouteBook) -> None:
    judge = LLMJudge(FakeJudgeModel(), book, timeout=1)
    assert judge.parse("code") == "code"
    assert judge.parse(' "Math". ') == "math"
    assert judge.parse('Sure! {"route": "search"}') == "search"
    assert judge.parse("[1, 2]") is None


def test_only_the_start_of_a_long_message_is_classified(
    book: RouteBook, classifier: LocalClassifier
) -> None:
    traceback = "Traceback (most recent call last): File app.py, line 3, TypeError: None\n"
    paste = traceback * 40  # 2 960 characters of a pasted error
    long_message = paste + "write a birthday poem for my grandma " * 500
    cascade = router(book, classifier)
    decision = cascade.decide_local(long_message)
    assert decision.route == "code"
    assert decision.scores == cascade.decide_local(long_message[:2000]).scores
