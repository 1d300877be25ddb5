"""Benchmark scenarios and one run of a scenario: fresh stack, load, measurements."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.load import Expectation, LoadPlan, LoadRun, TurnRecord
from bench.metrics import (
    TurnTiming,
    llm_requests_by_tag,
    summarize,
    turn_timing,
)
from bench.stack import BotOptions, Stack, running_stack

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

    @property
    def expect(self) -> Expectation:
        return Expectation(self.reply)

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
    if scenario.enforce_limits:
        return max(single, chats / TELEGRAM_MESSAGES_PER_SECOND)
    return single


def default_turns(scenario: Scenario) -> int:
    """Turns per chat so that the load phase lasts about TARGET_SECONDS (3..12 turns)."""
    cycle = cycle_estimate(scenario, scenario.chats) + scenario.think_s
    return max(3, min(12, round(TARGET_SECONDS / cycle)))


@dataclass
class RunResult:
    """One run of one scenario; times in milliseconds, memory in MB."""

    scenario: str
    chats: int
    turns_ok: int
    turns_failed: int
    overhead_ms: dict[str, float | None]
    before_llm_ms: dict[str, float | None]
    after_llm_ms: dict[str, float | None]
    first_text_after_llm_ms: dict[str, float | None]
    e2e_ms: dict[str, float | None]
    llm_ms: dict[str, float | None]
    turns_per_s: float | None
    wall_s: float
    rss_start_mb: float | None
    peak_rss_mb: float | None
    bot_cpu_s: float | None
    bench_cpu_s: float
    rejections_429: int
    rejections_by_method: dict[str, int]
    bot_calls: dict[str, int]
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


async def _fetch_chats(stack: Stack, chat_ids: list[int]) -> dict[int, tuple[Any, Any]]:
    """Transcript and drafts of each chat (after the load, so it does not disturb it)."""
    gate = asyncio.Semaphore(16)

    async def one(chat_id: int) -> tuple[int, tuple[Any, Any]]:
        async with gate:
            return chat_id, (
                await stack.client.transcript(chat_id),
                await stack.client.drafts(chat_id),
            )

    return dict(await asyncio.gather(*(one(c) for c in chat_ids)))


def _timings(
    records: list[TurnRecord],
    chats: dict[int, tuple[Any, Any]],
    llm_requests: list[dict[str, Any]],
    scenario: Scenario,
) -> tuple[list[TurnTiming], list[str]]:
    by_tag = llm_requests_by_tag(llm_requests)
    timings: list[TurnTiming] = []
    problems: list[str] = []
    for record in records:
        if record.outcome != "ok":
            continue
        transcript, drafts = chats.get(record.chat_id, ([], []))
        timing = turn_timing(record, transcript, drafts, by_tag.get(record.tag), scenario.expect)
        if timing is None:
            problems.append(f"{record.tag}: answered, but the transcript shows no full answer")
            continue
        timings.append(timing)
    return timings, problems


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
    ) as stack:
        stack.llm.set_knobs(
            ttft_ms=scenario.ttft_ms, token_delay_ms=scenario.token_delay_ms, chunk_chars=0
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
        cpu_before = stack.sample()
        bench_cpu_before = time.process_time()
        started = time.monotonic()
        failures = await _drive(stack, load, scenario)
        wall = time.monotonic() - started
        bench_cpu = time.process_time() - bench_cpu_before
        end_sample = stack.sample()
        if not stack.bot_alive():
            failures.append(f"the bot exited with {stack.process.returncode}:\n{stack.log_tail()}")
        chats = await _fetch_chats(stack, sorted({r.chat_id for r in load.records}))
        timings, problems = _timings(load.records, chats, stack.llm.requests, scenario)
        failures += problems
        rejections = Counter(str(r.get("method")) for r in stack.rejections())
        calls = stack.call_counts()
        start_sample = stack.started_sample
    failed = [r for r in load.records if r.outcome != "ok"]
    failures += [f"{r.tag}: {r.outcome} {r.detail}".strip() for r in failed]
    span = max(t.final_at for t in timings) - min(t.user_at for t in timings) if timings else 0.0
    bot_cpu = (
        end_sample.cpu_seconds - cpu_before.cpu_seconds
        if end_sample is not None and cpu_before is not None
        else None
    )
    return RunResult(
        scenario=scenario.name,
        chats=scenario.chats,
        turns_ok=len(timings),
        turns_failed=len(load.records) - len(timings),
        overhead_ms=summarize(t.overhead for t in timings),
        before_llm_ms=summarize(t.before_llm for t in timings),
        after_llm_ms=summarize(t.after_llm for t in timings),
        first_text_after_llm_ms=summarize(t.first_text_after_llm for t in timings),
        e2e_ms=summarize(t.e2e for t in timings),
        llm_ms=summarize(t.llm_time for t in timings),
        turns_per_s=round(len(timings) / span, 2) if span > 0 else None,
        wall_s=round(wall, 2),
        rss_start_mb=round(start_sample.rss_bytes / MB, 1) if start_sample else None,
        peak_rss_mb=round(end_sample.hwm_bytes / MB, 1) if end_sample else None,
        bot_cpu_s=round(bot_cpu, 2) if bot_cpu is not None else None,
        bench_cpu_s=round(bench_cpu, 2),
        rejections_429=sum(rejections.values()),
        rejections_by_method=dict(rejections),
        bot_calls=calls,
        failures=failures,
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
