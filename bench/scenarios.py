"""Benchmark scenarios and one run of a scenario: fresh stack, load, measurements."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from bench.botlog import loop_lag, pair_paced, parse_delivered, parse_loop_lag, window_text
from bench.load import FIRST_USER_ID, Expectation, LoadPlan, LoadRun, TurnRecord
from bench.metrics import (
    DraftLag,
    TurnTiming,
    llm_requests_by_tag,
    median,
    quantiles,
    ratio,
    summarize,
    turn_timing,
)
from bench.metrics import draft_lags as turn_draft_lags
from bench.stack import (
    BotOptions,
    Stack,
    bot_draft_interval,
    bot_has_pacer_settings,
    database_kind,
    pacer_off_values,
    running_stack,
)
from bot.sandbox.llm.plan import split_text

MB = 1024 * 1024
TARGET_SECONDS = 20.0
"""Default length of a latency scenario's load phase (turns per chat are derived from it)."""
IDLE_GIVE_UP = 15.0
"""Seconds of bot inactivity after which unanswered turns count as lost (see the watchdog)."""
TELEGRAM_MESSAGES_PER_SECOND = 30
"""Telegram's global limit: with limits on, a closed loop of C chats cannot go faster."""

_SENTENCES = (
    "Here is a short overview of how this works in practice.",
    "The system reads your request, looks at the context of the conversation and prepares an "
    "answer step by step.",
    "It keeps the explanation simple, gives one small example and points out the most common "
    "mistake people make.",
    "For example, a request with a clear goal usually gets a clearer and shorter answer.",
    "Most of the time spent on a reply goes into thinking about the question itself.",
    "Details that matter to you are worth mentioning early in the conversation.",
)
_ENDING = "If anything stays unclear, just ask again and that completes this answer."


def make_reply(words: int) -> str:
    """A plain-prose reply of about ``words`` words; it starts with "Certainly." and ends
    with a sentence that appears nowhere else (the completion marker)."""
    parts = ["Certainly."]
    budget = words - 1 - len(_ENDING.split())
    for sentence in itertools.cycle(_SENTENCES):
        if budget <= 0:
            break
        parts.append(sentence)
        budget -= len(sentence.split())
    parts.append(_ENDING)
    return " ".join(parts)


PerChunk = Literal["none", "paired", "gross"]
"""How a scenario's CPU per chunk is found (see :func:`RunResult.as_json`)."""
CPU_SAMPLE_SECONDS = 0.5
"""How often the bot's CPU time is sampled during the load (for the steady-window share)."""
IDLE_SECONDS = 1.0
"""How long the bot's idle CPU is measured before each load."""


@dataclass(frozen=True)
class Scenario:
    name: str
    chats: int
    turns: int | None
    duration: float | None
    ttft_ms: float
    token_delay_ms: float
    reply: str
    enforce_limits: bool
    think_s: float = 0.0
    ramp_s: float = 1.0
    turn_timeout: float = 60.0
    pacer_off: bool = False
    """The bot's pacer limits set far above the load (needs a bot with those settings)."""
    chunk_chars: int = 0
    """Scripted LLM chunking: 0 = one word per chunk, else this many characters."""
    per_chunk: PerChunk = "none"
    # The scale scenario (bench/scale.py): worker processes, ingress, questions per burst,
    # seconds between two SIGKILLs (0: no chaos).
    workers: int = 0
    ingress: Literal["polling", "webhook"] = "polling"
    burst: int = 1
    chaos_every_s: float = 0.0

    @property
    def expect(self) -> Expectation:
        return Expectation(self.reply)

    @property
    def chunks_per_turn(self) -> int:
        """Content chunks the scripted LLM streams for one answer."""
        return len(split_text(self.reply, self.chunk_chars or None))

    def timeout(self) -> float:
        """Hard cap on the load phase: generous, but a stuck bot cannot hang the benchmark."""
        if self.duration is not None:
            return self.ramp_s + self.duration + self.turn_timeout + 30
        estimate = (self.turns or 1) * (
            cycle_estimate(self, self.chats) + self.think_s + self.ramp_s / (self.turns or 1)
        )
        return max(120.0, 4 * estimate + self.turn_timeout)


def turn_estimate(ttft_ms: float, token_delay_ms: float, reply: str) -> float:
    """Seconds one turn takes at best: the LLM's streaming time plus a little bot work."""
    chunks = len(reply.split())
    return ttft_ms / 1000 + max(0, chunks - 1) * token_delay_ms / 1000 + 0.2


def cycle_estimate(scenario: Scenario, chats: int) -> float:
    single = turn_estimate(scenario.ttft_ms, scenario.token_delay_ms, scenario.reply)
    if scenario.enforce_limits or not scenario.pacer_off:
        return max(single, chats / TELEGRAM_MESSAGES_PER_SECOND)
    return single


def default_turns(scenario: Scenario) -> int:
    """Turns per chat so that the load phase lasts about TARGET_SECONDS (3..12 turns)."""
    cycle = cycle_estimate(scenario, scenario.chats) + scenario.think_s
    return max(3, min(12, round(TARGET_SECONDS / cycle)))


def think_for_rate(chats: int, rate: float, turn: float) -> float:
    """Think time that makes ``chats`` closed-loop users ask for ``rate`` answers a second,
    each turn taking ``turn`` seconds (0 when even without thinking they ask for less)."""
    return max(0.0, chats / rate - turn)


@dataclass
class RunResult:
    """One run of one scenario; times in milliseconds, memory in MB, CPU in seconds."""

    scenario: str
    chats: int
    database: str
    turns_ok: int
    turns_failed: int
    overhead_ms: dict[str, float | None]
    own_overhead_ms: dict[str, float | None]
    pacing_wait_ms: dict[str, float | None]
    before_llm_ms: dict[str, float | None]
    after_llm_ms: dict[str, float | None]
    first_text_after_llm_ms: dict[str, float | None]
    e2e_ms: dict[str, float | None]
    llm_ms: dict[str, float | None]
    draft_lag_ms: dict[str, float | None]
    draft_freshness_ms: dict[str, float | None]
    turns_per_s: float | None
    wall_s: float
    rss_start_mb: float | None
    peak_rss_mb: float | None
    bot_cpu_s: float | None
    bot_cpu_pct: float | None
    bot_cpu_pct_steady: float | None
    bot_idle_cpu_pct: float | None
    cpu_ms_per_turn: float | None
    bench_cpu_s: float
    loop_lag_p99_ms: float | None
    loop_lag_max_ms: float | None
    loop_lag_periods: int
    llm_chunks: int
    llm_chunks_per_s: float | None
    llm_streams_active_avg: float | None
    drafts_unplaced: int
    paced_turns: int
    rejections_429: int
    rejections_by_method: dict[str, int]
    bot_calls: dict[str, int]
    pacer: str
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    cpu_us_per_chunk: float | None = None
    cpu_us_per_chunk_method: str = "not measured in this scenario"
    run: int = 1
    # The scale scenario's (None elsewhere).
    workers: int | None = None
    ordering_violations: int | None = None
    lost_turns: int | None = None
    duplicated_answers: int | None = None
    max_recovery_s: float | None = None
    kills: int | None = None
    services_cpu_s: float | None = None  # PostgreSQL's and Redis's CPU during the run

    @property
    def pacing_ratio(self) -> float | None:
        """Pacing wait p99 / p50 (fairness: 1 when every chat waits alike)."""
        value = ratio(self.pacing_wait_ms.get("p99"), self.pacing_wait_ms.get("p50"))
        return None if value is None else round(value, 2)

    def _scale_keys(self) -> dict[str, Any]:
        if self.workers is None:
            return {}
        return {
            "workers": self.workers,
            "ordering_violations": self.ordering_violations,
            "lost_turns": self.lost_turns,
            "duplicated_answers": self.duplicated_answers,
            "max_recovery_s": self.max_recovery_s,
            "kills": self.kills,
            "services_cpu_s": self.services_cpu_s,
        }

    def as_json(self) -> dict[str, Any]:
        """One run: the issue's keys first (exactly so named), then everything else."""
        return {
            "scenario": self.scenario,
            "chats": self.chats,
            "database": self.database,
            "turns_per_s": self.turns_per_s,
            "own_overhead_ms": quantiles(self.own_overhead_ms),
            "pacing_wait_ms": quantiles(self.pacing_wait_ms),
            "first_text_after_ttft_ms": quantiles(self.first_text_after_llm_ms),
            "cpu_ms_per_turn": self.cpu_ms_per_turn,
            "cpu_us_per_chunk": self.cpu_us_per_chunk,
            "loop_lag_p99_ms": self.loop_lag_p99_ms,
            "rss_peak_mb": self.peak_rss_mb,
            "failed_turns": self.turns_failed,
            **self._scale_keys(),
            # extras
            "run": self.run,
            "turns": self.turns_ok,
            "cpu_us_per_chunk_method": self.cpu_us_per_chunk_method,
            "pacing_wait_p99_over_p50": self.pacing_ratio,
            "paced_turns": self.paced_turns,
            "overhead_incl_pacing_ms": self.overhead_ms,
            "own_overhead_detail_ms": self.own_overhead_ms,
            "pacing_wait_detail_ms": self.pacing_wait_ms,
            "first_text_after_ttft_detail_ms": self.first_text_after_llm_ms,
            "before_llm_ms": self.before_llm_ms,
            "after_llm_ms": self.after_llm_ms,
            "e2e_ms": self.e2e_ms,
            "llm_ms": self.llm_ms,
            "draft_lag_ms": self.draft_lag_ms,
            "draft_freshness_ms": self.draft_freshness_ms,
            "drafts_unplaced": self.drafts_unplaced,
            "loop_lag_max_ms": self.loop_lag_max_ms,
            "loop_lag_periods": self.loop_lag_periods,
            "bot_cpu_s": self.bot_cpu_s,
            "bot_cpu_pct": self.bot_cpu_pct,
            "bot_cpu_pct_steady": self.bot_cpu_pct_steady,
            "bot_idle_cpu_pct": self.bot_idle_cpu_pct,
            "bench_cpu_s": self.bench_cpu_s,
            "wall_s": self.wall_s,
            "llm_chunks": self.llm_chunks,
            "llm_chunks_per_s": self.llm_chunks_per_s,
            "llm_streams_active_avg": self.llm_streams_active_avg,
            "rss_start_mb": self.rss_start_mb,
            "rejections_429": self.rejections_429,
            "rejections_by_method": self.rejections_by_method,
            "bot_calls": self.bot_calls,
            "pacer": self.pacer,
            "settings": self.settings,
            "notes": self.notes,
            "failures": self.failures[:20],
        }


def _chats(stack: Stack, chat_ids: list[int]) -> dict[int, tuple[list[Any], list[Any]]]:
    """Transcript and drafts of each chat, read from the sandbox in this process (after the
    load, so it does not disturb it; no HTTP: gpu-stream runs have many large drafts)."""
    found: dict[int, tuple[list[Any], list[Any]]] = {}
    for chat_id in chat_ids:
        chat = stack.sandbox.core.world.chats.get(chat_id)
        if chat is not None:
            found[chat_id] = ([m.transcript() for m in chat.messages.values()], list(chat.drafts))
    return found


def _timings(
    records: list[TurnRecord],
    chats: Mapping[int, tuple[Sequence[Any], Sequence[Any]]],
    llm_requests: list[dict[str, Any]],
    scenario: Scenario,
    paced: Mapping[str, float] | None,
) -> tuple[list[TurnTiming], list[DraftLag], int, list[str]]:
    """Per-turn timings, the drafts' lags, how many drafts could not be placed, problems."""
    by_tag = llm_requests_by_tag(llm_requests)
    timings: list[TurnTiming] = []
    lags: list[DraftLag] = []
    unplaced = 0
    problems: list[str] = []
    for record in records:
        if record.outcome != "ok":
            continue
        transcript, drafts = chats.get(record.chat_id, ([], []))
        request = by_tag.get(record.tag)
        timing = turn_timing(record, transcript, drafts, request, scenario.expect)
        if timing is None:
            problems.append(f"{record.tag}: answered, but the transcript shows no full answer")
            continue
        if paced is not None and record.tag in paced:
            timing = _with_paced(timing, paced[record.tag] / 1000)
        timings.append(timing)
        chunk_times = [float(t) for t in (request or {}).get("chunk_times") or []]
        if chunk_times and scenario.chunk_chars == 0:  # word chunks, and an LLM that tells
            turn_lags, bad = turn_draft_lags(
                drafts, scenario.reply, chunk_times, timing.user_at, timing.final_at
            )
            lags += turn_lags
            unplaced += bad
    return timings, lags, unplaced, problems


def _with_paced(timing: TurnTiming, paced: float) -> TurnTiming:
    return replace(timing, paced=paced)


@dataclass
class _CpuSamples:
    """(monotonic time, bot CPU seconds) pairs taken during the load."""

    points: list[tuple[float, float]] = field(default_factory=list)

    def share(self, start: float, end: float) -> float | None:
        """Bot CPU over [start, end] as a percentage of one core (None: too few samples)."""
        inside = [(t, c) for t, c in self.points if start <= t <= end]
        if len(inside) < 2 or inside[-1][0] - inside[0][0] <= 0:
            return None
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return 100 * (c1 - c0) / (t1 - t0)


async def _idle_cpu(stack: Stack) -> float | None:
    """The bot's CPU share of one core over IDLE_SECONDS before the load: what it spends
    doing nothing (polling, timers), which CPU per turn includes for the turns' duration."""
    before, started = stack.sample(), time.monotonic()
    await asyncio.sleep(IDLE_SECONDS)
    after, elapsed = stack.sample(), time.monotonic() - started
    if before is None or after is None:
        return None
    return round(100 * (after.cpu_seconds - before.cpu_seconds) / elapsed, 1)


async def _sample_cpu(stack: Stack, samples: _CpuSamples) -> None:
    while True:
        sample = stack.sample()
        if sample is not None:
            samples.points.append((time.monotonic(), sample.cpu_seconds))
        await asyncio.sleep(CPU_SAMPLE_SECONDS)


def streams_active(requests: Sequence[Mapping[str, Any]], start: float, end: float) -> float | None:
    """Average number of LLM requests in flight over [start, end] (None for an empty window)."""
    if end <= start:
        return None
    busy = 0.0
    for request in requests:
        received = request.get("received_mono")
        if not isinstance(received, int | float):
            continue
        finished = request.get("finished_at")
        stop = float(finished) if isinstance(finished, int | float) else end
        busy += max(0.0, min(stop, end) - max(float(received), start))
    return busy / (end - start)


def stream_rate(requests: Sequence[Mapping[str, Any]]) -> float | None:
    """Median rate (chunks a second) at which the LLM streamed its answers (None: no stream
    of two chunks or more): shows whether a busy benchmark process kept the asked-for rate."""
    rates = []
    for request in requests:
        times = request.get("chunk_times") or []
        if request.get("outcome") == "ok" and len(times) >= 2 and times[-1] > times[0]:
            rates.append((len(times) - 1) / (times[-1] - times[0]))
    return median(rates)


def _settings(scenario: Scenario) -> dict[str, Any]:
    return {
        "turns_per_chat": scenario.turns,
        "duration_s": scenario.duration,
        "ramp_s": scenario.ramp_s,
        "think_s": round(scenario.think_s, 3),
        "llm": {
            "ttft_ms": scenario.ttft_ms,
            "token_delay_ms": round(scenario.token_delay_ms, 2),
            "answer_words": len(scenario.reply.split()),
            "chunks_per_answer": scenario.chunks_per_turn,
        },
        "enforce_limits": scenario.enforce_limits,
        "pacer_off": scenario.pacer_off,
        "draft_interval_ms": round(bot_draft_interval() * 1000),
        "pacer_limits": (
            pacer_off_values() if scenario.pacer_off and bot_has_pacer_settings() else "Telegram's"
        ),
    }


async def run_scenario(
    scenario: Scenario, options: BotOptions, keep_log: Path | None = None
) -> RunResult:
    """A fresh stack (sandbox, scripted LLM, bot), the load, then the measurements."""
    connections = scenario.chats * 2 + 20
    async with running_stack(
        enforce_limits=scenario.enforce_limits,
        connections=connections,
        options=options,
        keep_log=keep_log,
        pacer_off=scenario.pacer_off,
    ) as stack:
        stack.llm.set_knobs(
            ttft_ms=scenario.ttft_ms,
            token_delay_ms=scenario.token_delay_ms,
            chunk_chars=scenario.chunk_chars,
        )
        stack.llm.script(scenario.reply, times=0)  # every request, forever
        plan = LoadPlan(
            chats=scenario.chats,
            turns=scenario.turns,
            duration=scenario.duration,
            think_s=scenario.think_s,
            ramp_s=scenario.ramp_s,
            turn_timeout=scenario.turn_timeout,
            expect=scenario.expect,
        )
        load = LoadRun(stack.client, plan)
        idle_cpu = await _idle_cpu(stack)
        cpu_samples = _CpuSamples()
        sampler = asyncio.create_task(_sample_cpu(stack, cpu_samples))
        log_start = stack.log_size()
        cpu_before = stack.sample()
        bench_cpu_before = time.process_time()
        started = time.monotonic()
        try:
            failures = await _drive(stack, load, scenario)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        ended = time.monotonic()
        wall = ended - started
        bench_cpu = time.process_time() - bench_cpu_before
        end_sample = stack.sample()
        log_end = stack.log_size()
        if not stack.bot_alive():
            failures.append(f"the bot exited with {stack.process.returncode}:\n{stack.log_tail()}")
        await asyncio.sleep(0.2)  # the log lines of the last answers (written after delivery)
        log = stack.log_bytes()
        requests = stack.llm.requests
        chats = _chats(stack, sorted({r.chat_id for r in load.records}))
        rejections = Counter(str(r.get("method")) for r in stack.rejections())
        calls = stack.call_counts()
        start_sample = stack.started_sample
    notes: list[str] = []
    delivered = [
        d for d in parse_delivered(log.decode("utf-8", "replace")) if d.chat_id >= FIRST_USER_ID
    ]
    paced: dict[str, float] | None = None
    if delivered:
        pairing = pair_paced(load.records, delivered)
        paced = pairing.paced_ms
        if pairing.unmatched_chats:
            notes.append(
                f"{len(pairing.unmatched_chats)} chat(s) logged a different number of "
                "'answer delivered' lines than they had turns: their turns have no pacing wait"
            )
    else:
        notes.append(
            "the bot logged no 'answer delivered' lines: pacing wait and own overhead unknown"
        )
    lag = loop_lag(parse_loop_lag(window_text(log, log_start, log_end)))
    if lag is None:
        notes.append("the bot logged no 'event loop lag' line during the load: loop lag unknown")
    if scenario.pacer_off and not bot_has_pacer_settings():
        notes.append(
            "this bot has no [telegram] pacer settings: its pacer ran with Telegram's limits"
        )
    timings, lags, unplaced, problems = _timings(load.records, chats, requests, scenario, paced)
    failures += problems
    failed = [r for r in load.records if r.outcome != "ok"]
    failures += [f"{r.tag}: {r.outcome} {r.detail}".strip() for r in failed]
    span = max(t.final_at for t in timings) - min(t.user_at for t in timings) if timings else 0.0
    bot_cpu = (
        end_sample.cpu_seconds - cpu_before.cpu_seconds
        if end_sample is not None and cpu_before is not None
        else None
    )
    steady_start = load.started_at + scenario.ramp_s
    steady_end = min(load.stop_at, ended) if load.stop_at is not None else ended
    if load.stop_at is None:
        steady_start = started
    chunks = sum(len(r.get("chunk_times") or []) for r in requests if r.get("outcome") == "ok")
    result = RunResult(
        scenario=scenario.name,
        chats=scenario.chats,
        database=database_kind(options.database_url),
        turns_ok=len(timings),
        turns_failed=len(load.records) - len(timings),
        overhead_ms=summarize(t.overhead for t in timings),
        own_overhead_ms=summarize(t.own_overhead for t in timings),
        pacing_wait_ms=summarize(t.paced for t in timings),
        before_llm_ms=summarize(t.before_llm for t in timings),
        after_llm_ms=summarize(t.after_llm for t in timings),
        first_text_after_llm_ms=summarize(t.first_text_after_llm for t in timings),
        e2e_ms=summarize(t.e2e for t in timings),
        llm_ms=summarize(t.llm_time for t in timings),
        draft_lag_ms=summarize(d.lag for d in lags),
        draft_freshness_ms=summarize(d.freshness for d in lags),
        turns_per_s=round(len(timings) / span, 2) if span > 0 else None,
        wall_s=round(wall, 2),
        rss_start_mb=round(start_sample.rss_bytes / MB, 1) if start_sample else None,
        peak_rss_mb=round(end_sample.hwm_bytes / MB, 1) if end_sample else None,
        bot_cpu_s=round(bot_cpu, 3) if bot_cpu is not None else None,
        bot_cpu_pct=round(100 * bot_cpu / wall, 1) if bot_cpu is not None and wall > 0 else None,
        bot_cpu_pct_steady=_round(cpu_samples.share(steady_start, steady_end), 1),
        bot_idle_cpu_pct=idle_cpu,
        cpu_ms_per_turn=(
            round(1000 * bot_cpu / len(timings), 2) if bot_cpu is not None and timings else None
        ),
        bench_cpu_s=round(bench_cpu, 2),
        loop_lag_p99_ms=lag.p99_ms if lag is not None else None,
        loop_lag_max_ms=lag.max_ms if lag is not None else None,
        loop_lag_periods=lag.periods if lag is not None else 0,
        llm_chunks=chunks,
        llm_chunks_per_s=_round(stream_rate(requests), 1),
        llm_streams_active_avg=_round(streams_active(requests, steady_start, steady_end), 1),
        drafts_unplaced=unplaced,
        paced_turns=sum(1 for t in timings if t.paced is not None),
        rejections_429=sum(rejections.values()),
        rejections_by_method=dict(rejections),
        bot_calls=calls,
        pacer=_pacer_label(scenario),
        settings=_settings(scenario),
        notes=notes,
        failures=failures,
    )
    if scenario.per_chunk == "gross" and bot_cpu is not None and chunks:
        result.cpu_us_per_chunk = round(1e6 * bot_cpu / chunks, 1)
        result.cpu_us_per_chunk_method = (
            "gross: bot CPU during the load / content chunks the LLM streamed (per-turn work "
            "included)"
        )
    return result


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _pacer_label(scenario: Scenario) -> str:
    if not scenario.pacer_off:
        return "on"
    return "off" if bot_has_pacer_settings() else "on (this bot cannot switch it off)"


def pair_cpu_per_chunk(streaming: RunResult, instant: RunResult, chunk_difference: int) -> None:
    """Streaming cost per chunk: (CPU per turn of a streamed answer - CPU per turn of an
    instant one-chunk answer, same chats) / the difference in chunks. Sets it on ``streaming``."""
    if streaming.cpu_ms_per_turn is None or instant.cpu_ms_per_turn is None:
        return
    if chunk_difference <= 0:
        return
    per_chunk = (streaming.cpu_ms_per_turn - instant.cpu_ms_per_turn) * 1000 / chunk_difference
    streaming.cpu_us_per_chunk = round(per_chunk, 1)
    streaming.cpu_us_per_chunk_method = (
        f"paired: (CPU per turn of this run - CPU per turn of the capacity run with "
        f"{instant.chats} chat(s), round {instant.run}) / {chunk_difference} more chunks"
    )


async def _drive(stack: Stack, load: LoadRun, scenario: Scenario) -> list[str]:
    """Run the load until done, the scenario's time cap, or the bot process exiting."""
    failures: list[str] = []
    work = asyncio.create_task(load.run())
    died = asyncio.create_task(stack.process.wait())
    watchdog = asyncio.create_task(_give_up_when_idle(stack, load))
    try:
        done, _ = await asyncio.wait(
            {work, died}, timeout=scenario.timeout(), return_when=asyncio.FIRST_COMPLETED
        )
        if work not in done:
            reason = "the bot process exited" if died in done else "the scenario timed out"
            failures.append(f"{reason} after {time.monotonic() - load.started_at:.0f} s")
    finally:
        for task in (work, died, watchdog):
            task.cancel()
        await asyncio.gather(work, died, watchdog, return_exceptions=True)
    if work.done() and not work.cancelled() and work.exception() is not None:
        raise RuntimeError("the load generator failed") from work.exception()
    return failures


async def _give_up_when_idle(stack: Stack, load: LoadRun) -> None:
    """Fail turns the bot has dropped without waiting for their full turn timeout.

    When every unanswered turn is older than IDLE_GIVE_UP seconds, no LLM request is in
    flight and the bot has made no Bot API call except getUpdates for that long, the bot is
    not working on those turns any more: they are counted as lost and their users stop.
    """
    while True:
        await asyncio.sleep(1.0)
        pending = load.pending()
        now = time.monotonic()
        if not pending or any(now - r.sent_at < IDLE_GIVE_UP for r in pending):
            continue
        if now - stack.last_bot_activity() < IDLE_GIVE_UP:
            continue
        if any(r.get("outcome") == "pending" for r in stack.llm.requests):
            continue
        for record in pending:
            load.give_up(record, f"no answer; the bot was idle for {IDLE_GIVE_UP:g} s")
