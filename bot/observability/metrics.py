"""The bot's Prometheus metrics, in a registry of its own, and the hooks that feed them.

Labels are bounded: route, model, method, error kind, outcome. Never a chat or a user id.
Each hook is one call from the code it observes and costs a dictionary lookup and an add.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)
NO_ROUTE = "none"
# Seconds: LLM time to first token and whole answers, and how long the pacer held a call.
LLM_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
ANSWER_BUCKETS = (0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)

TURNS = Counter(
    "bot_turns_total",
    "Answers finished, by route, model and outcome (complete, interrupted, failed)",
    ["route", "model", "status"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "bot_errors_total",
    "Answers that ended in an error, by kind (timeout, rate_limited, stopped, ...)",
    ["kind"],
    registry=REGISTRY,
)
ANSWER_SECONDS = Histogram(
    "bot_answer_seconds",
    "From the start of generation to the committed answer, per model",
    ["model"],
    buckets=ANSWER_BUCKETS,
    registry=REGISTRY,
)
LLM_FIRST_TOKEN = Histogram(
    "bot_llm_time_to_first_token_seconds",
    "From a model request to its first text",
    ["model"],
    buckets=LLM_BUCKETS,
    registry=REGISTRY,
)
LLM_DURATION = Histogram(
    "bot_llm_request_seconds",
    "A whole model request (one streamed step)",
    ["model"],
    buckets=LLM_BUCKETS,
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "bot_llm_tokens_total",
    "Tokens as the provider reports them, per model and direction (in, out)",
    ["model", "direction"],
    registry=REGISTRY,
)
LLM_ERRORS = Counter(
    "bot_llm_errors_total",
    "Model requests that failed, by kind",
    ["model", "kind"],
    registry=REGISTRY,
)
TELEGRAM_CALLS = Counter(
    "bot_telegram_calls_total",
    "Bot API calls (each attempt), by method and outcome (ok, 429, 4xx, 5xx, network)",
    ["method", "outcome"],
    registry=REGISTRY,
)
TELEGRAM_429 = Counter(
    "bot_telegram_429_total", "Bot API calls answered 429, by method", ["method"], registry=REGISTRY
)
BROADCAST_SENDS = Counter(
    "bot_broadcast_messages_total",
    "Broadcast messages by outcome (sent, blocked, failed)",
    ["outcome"],
    registry=REGISTRY,
)


def answer_finished(
    route: str | None, model: str, status: str, error: str | None, seconds: float | None
) -> None:
    """One answer is stored (the hook in `bot.chat.answering`)."""
    TURNS.labels(route or NO_ROUTE, model, status).inc()
    if error is not None:
        ERRORS.labels(error).inc()
    if seconds is not None:
        ANSWER_SECONDS.labels(model).observe(seconds)


class _Callbacks(Collector):
    """Values read at scrape time from the objects that keep them (no hook needed)."""

    def __init__(self) -> None:
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self.counters: dict[str, tuple[str, Callable[[], float]]] = {}

    def collect(self) -> Iterator[Metric]:
        for name, (doc, read) in self.gauges.items():
            yield GaugeMetricFamily(name, doc, value=read())
        for name, (doc, read) in self.counters.items():
            yield CounterMetricFamily(name, doc, value=read())


_CALLBACKS = _Callbacks()
REGISTRY.register(_CALLBACKS)


def gauge(name: str, doc: str, read: Callable[[], float]) -> None:
    """A gauge read at scrape time (queue depth, active answers); re-registering replaces."""
    _CALLBACKS.gauges[name] = (doc, read)


def counter(name: str, doc: str, read: Callable[[], float]) -> None:
    """A counter read at scrape time from a running total kept elsewhere (the pacer's)."""
    _CALLBACKS.counters[name] = (doc, read)
