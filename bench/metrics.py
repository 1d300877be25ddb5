"""Per-turn timings from the sandboxes' own time stamps, and their summaries.

Every time stamp used here is ``time.monotonic()`` of the benchmark process, taken by the
Telegram sandbox (message, edit and draft ``at``) or by the scripted LLM server
(``received_mono``, ``first_content_at``, ``finished_at`` of each request), so they share one
clock and none of them includes the load generator's own HTTP round trips.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.load import Expectation, TurnRecord, normalize, tag_of, turn_messages


@dataclass(frozen=True)
class TurnTiming:
    """Seconds on the benchmark process's monotonic clock; derived values in seconds too."""

    tag: str
    user_at: float
    first_text_at: float
    final_at: float
    llm_received_at: float | None
    llm_first_content_at: float | None
    llm_finished_at: float | None
    paced: float | None = None
    """How long the answer's final messages waited in the bot's pacer (its log); None: unknown."""

    @property
    def e2e(self) -> float:
        return self.final_at - self.user_at

    @property
    def llm_time(self) -> float | None:
        if self.llm_received_at is None or self.llm_finished_at is None:
            return None
        return self.llm_finished_at - self.llm_received_at

    @property
    def overhead(self) -> float | None:
        """e2e minus the LLM's time: the bot's own work *and* its pacing waits."""
        llm = self.llm_time
        return None if llm is None else self.e2e - llm

    @property
    def own_overhead(self) -> float | None:
        """e2e minus the LLM's time minus the pacing wait: the bot's own work alone."""
        overhead = self.overhead
        if overhead is None or self.paced is None:
            return None
        return overhead - self.paced

    @property
    def before_llm(self) -> float | None:
        """The user's message to the LLM request: delivery, middlewares, storage."""
        return None if self.llm_received_at is None else self.llm_received_at - self.user_at

    @property
    def after_llm(self) -> float | None:
        """The LLM's last chunk to the final message in the chat."""
        return None if self.llm_finished_at is None else self.final_at - self.llm_finished_at

    @property
    def first_text_after_llm(self) -> float | None:
        if self.llm_first_content_at is None:
            return None
        return self.first_text_at - self.llm_first_content_at


def _versions(message: Mapping[str, Any]) -> list[tuple[float, str]]:
    """(time it appeared, text) of every version of a message, oldest first.

    The sandbox keeps the *replaced* versions in ``edits``, each stamped with the time it was
    replaced: version 0 appeared at the message's ``at``, version i at ``edits[i-1].at``, and
    the current text at ``edits[-1].at``.
    """
    edits = list(message.get("edits") or [])
    texts = [str(e.get("text") or "") for e in edits] + [str(message.get("text") or "")]
    times = [float(message["at"])] + [float(e["at"]) for e in edits]
    return list(zip(times, texts, strict=True))


def _last_user_text(body: Any) -> str:
    """The text of the last user message of an OpenAI or Anthropic request body."""
    messages = body.get("messages") if isinstance(body, Mapping) else None
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return ""


def llm_requests_by_tag(requests: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The last successful LLM request of each turn (a retried request counts once)."""
    found: dict[str, Mapping[str, Any]] = {}
    for request in requests:
        if request.get("outcome") != "ok":
            continue
        if "response_format" in (request.get("body") or {}):
            continue  # the routing judge's call, not the answer
        tag = tag_of(_last_user_text(request.get("body")))
        if tag is not None:
            found[tag] = request
    return found


def turn_timing(
    record: TurnRecord,
    transcript: Sequence[Mapping[str, Any]],
    drafts: Sequence[Mapping[str, Any]],
    llm_request: Mapping[str, Any] | None,
    expect: Expectation,
) -> TurnTiming | None:
    """Timings of one answered turn; None when the transcript does not show a full answer."""
    if record.user_message_id is None:
        return None
    by_id = {int(m["message_id"]): m for m in transcript}
    user = by_id.get(record.user_message_id)
    if user is None:
        return None
    user_at = float(user["at"])
    answer = turn_messages([dict(m) for m in transcript], record.user_message_id)
    versions = sorted(v for m in answer for v in _versions(m))
    final_at = next((at for at, text in versions if expect.is_complete(text)), None)
    if final_at is None:
        return None
    shown = [at for at, text in versions if expect.has_text(text)]
    shown += [
        float(d["at"])
        for d in drafts
        if user_at <= float(d["at"]) <= final_at and expect.has_text(d.get("text"))
    ]
    first_text_at = min(shown, default=final_at)

    def stamp(key: str) -> float | None:
        value = llm_request.get(key) if llm_request is not None else None
        return float(value) if isinstance(value, int | float) else None

    return TurnTiming(
        tag=record.tag,
        user_at=user_at,
        first_text_at=first_text_at,
        final_at=final_at,
        llm_received_at=stamp("received_mono"),
        llm_first_content_at=stamp("first_content_at"),
        llm_finished_at=stamp("finished_at"),
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def summarize(values: Iterable[float | None]) -> dict[str, float | None]:
    """p50 / p95 / p99 / max in milliseconds of the known values (seconds), and their count."""
    known = [v for v in values if v is not None]
    return {
        "p50": ms(percentile(known, 50)),
        "p95": ms(percentile(known, 95)),
        "p99": ms(percentile(known, 99)),
        "max": ms(max(known, default=None)),
        "n": len(known),
    }


def quantiles(summary: Mapping[str, float | None] | None) -> dict[str, float | None]:
    """Exactly ``{p50, p95, p99}`` of a summary (all None when there is none)."""
    return {q: None if summary is None else summary.get(q) for q in ("p50", "p95", "p99")}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either is unknown or the denominator is not > 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def median(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


@dataclass(frozen=True)
class DraftLag:
    """One draft that showed new text; seconds on the benchmark's monotonic clock.

    ``lag``: the draft's arrival at the sandbox minus the moment the LLM had written the
    *oldest* text that is new in this draft (the first chunk no earlier draft of the turn
    showed): how long the longest-waiting new text took to become visible. Text written just
    after a draft waits for the next one, so this includes the bot's draft interval.
    ``freshness``: the same for the *newest* text the draft shows (how stale a draft is when
    it arrives; excludes the interval).
    """

    lag: float
    freshness: float


def draft_lags(
    drafts: Iterable[Mapping[str, Any]],
    reply: str,
    chunk_times: Sequence[float],
    start: float,
    end: float,
) -> tuple[list[DraftLag], int]:
    """Lags of one turn's drafts (those stamped between ``start`` and ``end``).

    The reply must have been streamed one word per chunk (the scripted LLM's word mode), so
    that a draft showing the reply's first n words shows chunks 0..n-1 and its newest text was
    written at ``chunk_times[n - 1]``. Drafts without text (the "thinking" placeholder) and
    drafts that repeat already shown text are skipped. Returns the lags and how many drafts
    with text could not be placed in the reply (not a prefix of it, or beyond the recorded
    chunk times).
    """
    words = normalize(reply).split(" ")
    lags: list[DraftLag] = []
    unplaced = 0
    shown = 0
    turn_drafts = [d for d in drafts if start <= float(d["at"]) <= end]
    for draft in sorted(turn_drafts, key=lambda d: float(d["at"])):
        text = normalize(str(draft.get("text") or ""))
        if not text:
            continue
        seen = text.split(" ")
        n = len(seen)
        placed = (
            n <= min(len(words), len(chunk_times))
            and seen[:-1] == words[: n - 1]
            and words[n - 1].startswith(seen[-1])
        )
        if not placed:
            unplaced += 1
            continue
        if n <= shown:
            continue
        at = float(draft["at"])
        lags.append(DraftLag(lag=at - chunk_times[shown], freshness=at - chunk_times[n - 1]))
        shown = n
    return lags, unplaced
