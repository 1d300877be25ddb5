"""Metrics, health and readiness, and JSON logs: the server on a free loopback port, the
readiness of Telegram judged from the bot's own calls (a getMe only when they are stale, its
result cached), model streams timed, and JSON lines that carry update, chat and turn ids
without a secret."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from prometheus_client import generate_latest

from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import ChatRequest, LLMError, LLMErrorKind, StreamEvent, TextDelta, Usage
from bot.logs import JsonFormatter, SecretFilter, bind
from bot.observability.llm import MeteredModel
from bot.observability.metrics import REGISTRY, answer_finished
from bot.observability.server import (
    TELEGRAM_PROBE_SECONDS,
    Check,
    ObservabilityServer,
    TelegramReachability,
)
from bot.observability.telegram import TelegramMetrics

TOKEN = "123456:AAH-observability-token"
SPEC = ModelSpec(
    "obs-model", "Obs", "openai", "obs", ModelCapabilities(True, True, True, False, 8192, 512)
)


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return value if value is not None else 0.0


# --- /readyz: is Telegram reachable? -------------------------------------------------------


class Probe:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def __call__(self) -> None:
        self.calls += 1
        if self.fail:
            raise ConnectionError("Cannot connect to host api.telegram.org")


async def test_telegram_is_ready_from_recent_answers_without_a_probe() -> None:
    now = [1_000.0]
    calls, probe = TelegramMetrics(), Probe()
    ready = TelegramReachability(calls, probe, clock=lambda: now[0])
    calls.last_answer = 990.0  # Telegram answered a call 10 s ago
    await ready()
    assert probe.calls == 0
    calls.last_failure = 995.0  # ... but the last call since failed: ask
    await ready()
    assert probe.calls == 1


async def test_a_stale_telegram_is_probed_once_a_minute_and_the_answer_cached() -> None:
    now = [1_000.0]
    calls, probe = TelegramMetrics(), Probe()
    ready = TelegramReachability(calls, probe, clock=lambda: now[0])
    await asyncio.gather(*(ready() for _ in range(5)))  # no call yet: probed once for all
    assert probe.calls == 1
    now[0] += TELEGRAM_PROBE_SECONDS - 1
    await ready()
    assert probe.calls == 1  # cached
    probe.fail = True
    now[0] += 1
    with pytest.raises(RuntimeError, match="Telegram did not answer"):
        await ready()
    assert probe.calls == 2
    probe.fail = False
    with pytest.raises(RuntimeError):  # the failure is cached too, until the next probe
        await ready()
    assert probe.calls == 2
    now[0] += TELEGRAM_PROBE_SECONDS
    await ready()
    assert probe.calls == 3


# --- the server ----------------------------------------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[tuple[ObservabilityServer, dict[str, Any]]]:
    state: dict[str, Any] = {"database": None, "stopping": False}

    async def database() -> None:
        if state["database"] is not None:
            raise state["database"]

    async def telegram() -> None:
        return None

    checks: dict[str, Check] = {"database": database, "telegram": telegram}
    app = ObservabilityServer("127.0.0.1", 0, checks, lambda: bool(state["stopping"]))
    await app.start()
    yield app, state
    await app.stop()


async def get(app: ObservabilityServer, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{app.port}{path}") as response,
    ):
        return response.status, await response.text()


async def test_health_and_readiness(server: tuple[ObservabilityServer, dict[str, Any]]) -> None:
    app, state = server
    assert app.port
    assert await get(app, "/healthz") == (200, '{"status": "alive"}')
    status, body = await get(app, "/readyz")
    assert (status, json.loads(body)) == (
        200,
        {"status": "ready", "checks": {"database": "ok", "telegram": "ok"}},
    )
    state["database"] = OSError("unable to open database file")
    status, body = await get(app, "/readyz")
    assert status == 503
    assert json.loads(body)["checks"]["database"] == (
        "failed: OSError: unable to open database file"
    )
    state["database"], state["stopping"] = None, True
    status, body = await get(app, "/readyz")
    assert (status, json.loads(body)["checks"]["process"]) == (503, "stopping")
    assert (await get(app, "/healthz"))[0] == 200  # alive while it stops


async def test_a_port_in_use_is_logged_not_fatal(
    server: tuple[ObservabilityServer, dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = server
    assert app.port is not None
    second = ObservabilityServer("127.0.0.1", app.port, {}, lambda: False)
    with caplog.at_level(logging.ERROR, logger="bot.observability.server"):
        await second.start()
    assert second.port is None
    assert f"metrics: cannot listen on 127.0.0.1:{app.port}" in caplog.text
    await second.stop()


async def test_metrics_are_served_in_prometheus_text(
    server: tuple[ObservabilityServer, dict[str, Any]],
) -> None:
    app, _ = server
    before = sample("bot_turns_total", route="obs-route", model="obs-model", status="complete")
    answer_finished("obs-route", "obs-model", "complete", None, 1.5)
    answer_finished(None, "obs-model", "failed", "timeout", 0.2)
    status, text = await get(app, "/metrics")
    assert status == 200
    assert (
        f'bot_turns_total{{model="obs-model",route="obs-route",status="complete"}} {before + 1}'
        in text
    )
    assert 'bot_turns_total{model="obs-model",route="none",status="failed"}' in text
    assert 'bot_answer_seconds_bucket{le="2.0",model="obs-model"}' in text
    assert sample("bot_errors_total", kind="timeout") >= 1


# --- models timed --------------------------------------------------------------------------


class Model:
    spec = SPEC

    def __init__(self, *events: StreamEvent, error: LLMError | None = None) -> None:
        self.events, self.error = events, error

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        for event in self.events:
            yield event
        if self.error is not None:
            raise self.error


async def test_model_streams_are_timed_and_their_tokens_counted() -> None:
    first = sample("bot_llm_time_to_first_token_seconds_count", model="obs-model")
    requests = sample("bot_llm_request_seconds_count", model="obs-model")
    out = sample("bot_llm_tokens_total", model="obs-model", direction="out")
    model = MeteredModel(Model(TextDelta("Hel"), TextDelta("lo"), Usage(120, 7)))
    assert model.spec is SPEC
    events = [event async for event in model.stream(ChatRequest(turns=()))]
    assert len(events) == 3  # passed through unchanged
    assert sample("bot_llm_time_to_first_token_seconds_count", model="obs-model") == first + 1
    assert sample("bot_llm_request_seconds_count", model="obs-model") == requests + 1
    assert sample("bot_llm_tokens_total", model="obs-model", direction="out") == out + 7
    failing = MeteredModel(Model(error=LLMError(LLMErrorKind.RATE_LIMITED, "429")))
    errors = sample("bot_llm_errors_total", model="obs-model", kind="rate_limited")
    with pytest.raises(LLMError):
        async for _ in failing.stream(ChatRequest(turns=())):
            pass
    assert sample("bot_llm_errors_total", model="obs-model", kind="rate_limited") == errors + 1
    assert sample("bot_llm_request_seconds_count", model="obs-model") == requests + 2
    assert b"chat_id" not in generate_latest(REGISTRY)  # labels never name a chat


# --- JSON logs -----------------------------------------------------------------------------


def json_lines(work: Any) -> list[dict[str, Any]]:
    """What `work` logs, as the JSON handler with secret redaction writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(SecretFilter([TOKEN]))
    logger = logging.getLogger("test_json_logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        work(logger)
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_name_the_update_chat_and_turn_without_secrets() -> None:
    def work(logger: logging.Logger) -> None:
        bind(update_id=7001, chat_id=-100123)
        bind(turn_id=42)
        logger.warning("POST %s failed", f"https://api.telegram.org/bot{TOKEN}/sendMessage")
        try:
            raise RuntimeError(f"401 for {TOKEN}")
        except RuntimeError:
            logger.exception("provider refused")

    first, second = contextvars.Context().run(json_lines, work)
    assert first.pop("time").endswith("+00:00")
    assert first == {
        "level": "WARNING",
        "logger": "test_json_logs",
        "message": "POST https://api.telegram.org/bot[redacted]/sendMessage failed",
        "update_id": 7001,
        "chat_id": -100123,
        "turn_id": 42,
    }
    assert second["message"] == "provider refused"
    assert "RuntimeError: 401 for [redacted]" in second["exception"]
    assert TOKEN not in json.dumps(second)
    outside = json_lines(lambda logger: logger.info("no update here"))
    assert "update_id" not in outside[0]


async def test_each_update_task_logs_its_own_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test_json_tasks")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)

    async def update(update_id: int, chat_id: int) -> None:
        bind(update_id=update_id, chat_id=chat_id)
        await asyncio.sleep(0.01)  # the other update runs meanwhile
        logger.info("handled")

    try:
        await asyncio.gather(update(1, 10), update(2, 20))
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted((line["update_id"], line["chat_id"]) for line in lines) == [(1, 10), (2, 20)]
