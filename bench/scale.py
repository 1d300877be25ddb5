"""The scale scenario: one run on a cluster of bot processes (:mod:`bench.cluster`).

Users write in bursts: each sends ``burst`` questions back to back, waits until all are
answered, and starts the next burst (so each chat always has several updates queued, and its
answers can come out of order if the bot lets them). The scripted LLM echoes each question,
tag included, so every answer names the turn it answers. After the load the chats'
transcripts give:

* ``ordering_violations``: answers that came after an answer to a later question of the chat;
* ``duplicated_answers``: extra final messages answering a question already answered;
* ``lost_turns``: questions never answered, even after the drain (lease + the turn timeout);
* ``max_recovery_s`` (``--chaos``): for each killed worker, from the SIGKILL until the last
  question of its partitions that was waiting at that moment is answered; the largest (a
  question cut off by two kills, the second of the worker that had taken it over, counts
  from the second).

CPU per turn is that of every process of the cluster (ingress replicas and the workers
restarted by the chaos included, their start-up too) over the answered turns; what
PostgreSQL and Redis spent meanwhile is reported beside it (``services_cpu_s``), and the
benchmark's own (``bench_cpu_s``): on a small machine they share the cores with the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.botlog import Delivered, loop_lag, pair_paced, parse_delivered, parse_loop_lag
from bench.cluster import Cluster, ClusterOptions, running_cluster, services_cpu_seconds
from bench.load import FIRST_USER_ID, TurnRecord, normalize, question, tags_of
from bench.metrics import TurnTiming, llm_requests_by_tag, summarize
from bench.scenarios import RunResult, Scenario, _settings
from bench.stack import BotOptions, database_kind
from bot.queue.partitions import partition_of_chat
from bot.sandbox.telegram.client import SandboxClient, SandboxError

WAIT_SLICE = 10.0
"""Longest single wait on the sandbox for a chat's next bot message."""
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


@dataclass(frozen=True)
class Kill:
    at: float
    victim: str
    partitions: tuple[int, ...]


@dataclass
class BurstLoad:
    client: SandboxClient
    chats: int
    burst: int
    duration: float
    ramp_s: float
    turn_timeout: float
    records: list[TurnRecord] = field(default_factory=list)
    started_at: float = 0.0
    stop_at: float = 0.0

    async def run(self) -> None:
        self.started_at = time.monotonic()
        self.stop_at = self.started_at + self.ramp_s + self.duration
        users = [asyncio.create_task(self._user(n)) for n in range(self.chats)]
        try:
            await asyncio.gather(*users)
        finally:
            for task in users:
                task.cancel()
            await asyncio.gather(*users, return_exceptions=True)

    async def _user(self, user: int) -> None:
        chat_id = FIRST_USER_ID + user
        await asyncio.sleep(self.ramp_s * user / max(1, self.chats))
        index, seen = 0, 0
        while time.monotonic() < self.stop_at:
            batch: list[TurnRecord] = []
            for _ in range(self.burst):
                record = TurnRecord(chat_id, index, f"u{user}t{index}", time.monotonic())
                self.records.append(record)
                batch.append(record)
                index += 1
                try:
                    sent = await self.client.send(chat_id, question(record.tag))
                except (SandboxError, aiohttp.ClientError) as exc:
                    record.outcome, record.detail = "error", repr(exc)
                    return
                record.user_message_id = int(sent["message_id"])
            seen = await self._await_batch(chat_id, batch, seen)
            if any(r.outcome != "ok" for r in batch):
                return  # this chat is stuck: its user gives up

    async def _await_batch(self, chat_id: int, batch: list[TurnRecord], seen: int) -> int:
        deadline = time.monotonic() + self.turn_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                for record in batch:
                    if record.outcome == "pending":
                        record.outcome = "timeout"
                        record.detail = f"no answer after {self.turn_timeout:g} s"
                return seen
            try:
                messages = await self.client.wait_bot_messages(
                    chat_id, seen + 1, timeout=min(remaining, WAIT_SLICE)
                )
            except TimeoutError:
                continue
            seen = len(messages)
            texts = [normalize(str(m.get("text") or "")) for m in messages]
            for record in batch:
                if record.outcome == "pending" and any(question(record.tag) in t for t in texts):
                    record.outcome = "ok"
            if all(r.outcome == "ok" for r in batch):
                return seen


async def _chaos(cluster: Cluster, every: float, stop_at: float, kills: list[Kill]) -> None:
    """Every ``every`` seconds until ``stop_at``: SIGKILL a random ready worker, start a new
    one in its place (not waiting for it)."""
    rng = random.Random(16)  # the same victims' sequence in every run
    starting: set[asyncio.Task[Any]] = set()
    try:
        while True:
            await asyncio.sleep(every)
            if time.monotonic() >= stop_at:
                return
            candidates = [m for m in cluster.workers if m.ready()]
            if not candidates:
                continue
            victim = rng.choice(candidates)
            owners = await cluster.owners()
            held = tuple(sorted(p for p, m in owners.items() if m is victim))
            kills.append(Kill(time.monotonic(), victim.name, held))
            cluster.kill(victim)
            task = asyncio.create_task(cluster.start(victim.command))
            starting.add(task)
            task.add_done_callback(starting.discard)
    finally:
        if starting:
            await asyncio.gather(*starting, return_exceptions=True)


@dataclass(frozen=True)
class Answers:
    """What one chat's transcript shows."""

    final_at: dict[str, float]  # the tag's first answer
    first_text_at: dict[str, float]  # a draft or the final message with the tag, the first
    user_at: dict[int, float]  # user message id -> when it arrived
    ordering_violations: int
    duplicates: int
    bot_messages: int


def _read_chat(cluster: Cluster, chat_id: int) -> Answers:
    chat = cluster.sandbox.core.world.chats.get(chat_id)
    if chat is None:
        return read_transcript([], [])
    return read_transcript([m.transcript() for m in chat.messages.values()], list(chat.drafts))


def read_transcript(
    transcript: Sequence[Mapping[str, Any]], drafts: Sequence[Mapping[str, Any]]
) -> Answers:
    """What a chat's messages (the sandbox's transcript form) and drafts show."""
    messages = sorted(transcript, key=lambda m: int(m["message_id"]))
    final_at: dict[str, float] = {}
    counts: Counter[str] = Counter()
    violations, highest, bot = 0, -1, 0
    for message in messages:
        if not message.get("from_bot") or message.get("deleted"):
            continue
        bot += 1
        # A question asked while the one before it could not be answered is answered with it
        # (the model reads both): the answer names both.
        for tag in tags_of(str(message.get("text") or "")):
            counts[tag] += 1
            if counts[tag] > 1:
                continue
            final_at[tag] = float(message["at"])
            index = int(tag.rsplit("t", 1)[1])
            if index < highest:
                violations += 1
            highest = max(highest, index)
    first_text = dict(final_at)
    for draft in drafts:
        for shown in tags_of(str(draft.get("text") or "")):
            if shown in first_text:
                first_text[shown] = min(first_text[shown], float(draft["at"]))
    users = {int(m["message_id"]): float(m["at"]) for m in messages if not m.get("from_bot")}
    duplicates = sum(count - 1 for count in counts.values())
    return Answers(final_at, first_text, users, violations, duplicates, bot)


def _tail(cluster: Cluster, chat_id: int, count: int = 8) -> str:
    """The chat's last messages, with the versions edits replaced (to tell what went wrong)."""
    chat = cluster.sandbox.core.world.chats.get(chat_id)
    if chat is None:
        return f"chat {chat_id}: no messages"
    shown = []
    for message in sorted(chat.messages.values(), key=lambda m: m.message_id)[-count:]:
        view = message.transcript()
        who = "bot" if view["from_bot"] else "user"
        earlier = [str(e.get("text") or "")[:70] for e in view.get("edits") or []]
        was = f" (was: {' | '.join(earlier)})" if earlier else ""
        gone = " (deleted)" if view.get("deleted") else ""
        shown.append(f"#{view['message_id']} {who}: {str(view['text'] or '')[:70]!r}{was}{gone}")
    return f"chat {chat_id}: " + "; ".join(shown)


def delivered_lines(logs: Sequence[str]) -> list[Delivered]:
    """Every process's ``answer delivered`` lines in the order they were logged (by time
    stamp, to the millisecond): a chat's answers move between processes."""
    stamped: list[tuple[str, int, int, Delivered]] = []
    for number, log in enumerate(logs):
        for position, line in enumerate(log.splitlines()):
            found = parse_delivered(line)
            stamp = _STAMP.match(line)
            if found and stamp is not None:
                stamped.append((stamp[1], number, position, found[0]))
    stamped.sort(key=lambda item: item[:3])
    return [item[3] for item in stamped]


async def _drain(cluster: Cluster, records: Sequence[TurnRecord], grace: float) -> None:
    """Wait (at most ``grace`` seconds) until every sent question has an answer."""
    deadline = time.monotonic() + grace
    sent = [r for r in records if r.user_message_id is not None]
    while time.monotonic() < deadline:
        by_chat: dict[int, set[str]] = {}
        for record in sent:
            by_chat.setdefault(record.chat_id, set()).add(record.tag)
        if all(tags <= set(_read_chat(cluster, chat).final_at) for chat, tags in by_chat.items()):
            return
        await asyncio.sleep(0.5)


def recovery(
    kills: Sequence[Kill],
    records: Sequence[TurnRecord],
    answers: Mapping[int, Answers],
    partitions: int,
) -> tuple[float | None, int]:
    """The longest recovery, and how many questions were waiting in a killed worker's
    partitions at its kill (see the module's docstring). A question cut off twice (the worker
    that took its partition over was killed too) counts from the later kill."""
    per_kill = recovery_per_kill(kills, records, answers, partitions)
    longest = max((s for _, s in per_kill.values() if s is not None), default=None)
    return longest, sum(count for count, _ in per_kill.values())


def recovery_per_kill(
    kills: Sequence[Kill],
    records: Sequence[TurnRecord],
    answers: Mapping[int, Answers],
    partitions: int,
) -> dict[int, tuple[int, float | None]]:
    """For each kill (by index): the questions it cut off, and the seconds until the last of
    them was answered (None: none of them was)."""
    found: dict[int, tuple[int, float | None]] = dict.fromkeys(range(len(kills)), (0, None))
    for record in records:
        chat = answers.get(record.chat_id)
        if chat is None or record.user_message_id is None:
            continue
        asked = chat.user_at.get(record.user_message_id)
        answered = chat.final_at.get(record.tag)
        partition = partition_of_chat(record.chat_id, partitions)
        cut = [
            index
            for index, kill in enumerate(kills)
            if partition in kill.partitions
            and asked is not None
            and asked <= kill.at
            and (answered is None or answered > kill.at)
        ]
        if not cut:
            continue
        last = max(cut, key=lambda index: kills[index].at)
        count, seconds = found[last]
        if answered is not None:
            took = round(answered - kills[last].at, 2)
            seconds = took if seconds is None else max(seconds, took)
        found[last] = (count + 1, seconds)
    return found


def _timings(
    records: Sequence[TurnRecord],
    answers: Mapping[int, Answers],
    requests: list[dict[str, Any]],
    paced: Mapping[str, float],
    burst: int,
) -> tuple[list[TurnTiming], list[TurnTiming]]:
    """Every answered turn's timing, and those of the first question of each burst (the
    others also wait for their chat's earlier questions, by design)."""
    by_tag = llm_requests_by_tag(requests)
    every: list[TurnTiming] = []
    first: list[TurnTiming] = []
    for record in records:
        chat = answers.get(record.chat_id)
        if chat is None or record.user_message_id is None or record.tag not in chat.final_at:
            continue
        user_at = chat.user_at.get(record.user_message_id)
        if user_at is None:
            continue
        request = by_tag.get(record.tag) or {}

        def stamp(key: str, request: Mapping[str, Any] = request) -> float | None:
            value = request.get(key)
            return float(value) if isinstance(value, int | float) else None

        timing = TurnTiming(
            tag=record.tag,
            user_at=user_at,
            first_text_at=chat.first_text_at[record.tag],
            final_at=chat.final_at[record.tag],
            llm_received_at=stamp("received_mono"),
            llm_first_content_at=stamp("first_content_at"),
            llm_finished_at=stamp("finished_at"),
            paced=None if record.tag not in paced else paced[record.tag] / 1000,
        )
        every.append(timing)
        if record.index % burst == 0:
            first.append(timing)
    return every, first


async def run_scale(
    scenario: Scenario, options: BotOptions, keep_log: Path | None = None
) -> RunResult:
    """A fresh cluster, the burst load (with ``--chaos``, the kills), the measurements."""
    assert options.redis_url is not None
    cluster_options = ClusterOptions(
        workers=scenario.workers,
        ingress=scenario.ingress,
        redis_url=options.redis_url,
        lease_seconds=options.lease_seconds,
        partitions=options.partitions,
    )
    keep_logs = keep_log.with_suffix("") if keep_log is not None else None
    kills: list[Kill] = []
    async with running_cluster(
        cluster_options, options, connections=scenario.chats * 2 + 20, keep_logs=keep_logs
    ) as cluster:
        cluster.llm.set_knobs(
            ttft_ms=scenario.ttft_ms,
            token_delay_ms=scenario.token_delay_ms,
            chunk_chars=scenario.chunk_chars,
        )
        load = BurstLoad(
            cluster.client,
            chats=scenario.chats,
            burst=scenario.burst,
            duration=scenario.duration or 20.0,
            ramp_s=scenario.ramp_s,
            turn_timeout=scenario.turn_timeout,
        )
        log_starts = [m.log_path.stat().st_size for m in cluster.members]
        cpu_before = cluster.cpu_seconds()
        bench_cpu = time.process_time()
        services_cpu = services_cpu_seconds()
        started = time.monotonic()
        work = asyncio.create_task(load.run())
        chaos: asyncio.Task[None] | None = None
        if scenario.chaos_every_s > 0:
            stop_at = started + scenario.ramp_s + (scenario.duration or 20.0)
            chaos = asyncio.create_task(_chaos(cluster, scenario.chaos_every_s, stop_at, kills))
        try:
            await asyncio.wait_for(work, scenario.timeout())
        finally:
            if chaos is not None:
                chaos.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await chaos
        await _drain(cluster, load.records, options.lease_seconds + scenario.turn_timeout)
        ended = time.monotonic()
        cpu = cluster.cpu_seconds() - cpu_before
        bench_cpu = time.process_time() - bench_cpu
        services_cpu = services_cpu_seconds() - services_cpu
        peak = cluster.peak_rss_mb()
        logs = cluster.logs()
        windows = [
            log.encode()[start:].decode(errors="replace")
            for log, start in zip(logs, log_starts + [0] * len(logs), strict=False)
        ]
        requests = cluster.llm.requests
        chats = sorted({r.chat_id for r in load.records})
        answers = {chat: _read_chat(cluster, chat) for chat in chats}
        unanswered = sorted(
            {
                r.chat_id
                for r in load.records
                if r.user_message_id is not None and r.tag not in answers[r.chat_id].final_at
            }
        )
        tails = [_tail(cluster, chat) for chat in unanswered[:3]]
    wall = ended - started
    result = _result(
        scenario, options, load, answers, requests, logs, windows, kills, cpu, peak, wall
    )
    result.bench_cpu_s = round(bench_cpu, 2)
    result.services_cpu_s = round(services_cpu, 2)
    result.failures += tails
    return result


def _result(
    scenario: Scenario,
    options: BotOptions,
    load: BurstLoad,
    answers: Mapping[int, Answers],
    requests: list[dict[str, Any]],
    logs: Sequence[str],
    windows: Sequence[str],
    kills: Sequence[Kill],
    cpu: float,
    peak: float | None,
    wall: float,
) -> RunResult:
    sent = [r for r in load.records if r.user_message_id is not None]
    answered = {r.tag for r in sent if r.tag in answers[r.chat_id].final_at}
    lost = len(sent) - len(answered)
    delivered = [d for d in delivered_lines(logs) if d.chat_id >= FIRST_USER_ID]
    for record in load.records:  # pair_paced goes by outcome: answered by the end counts
        if record.tag in answered:
            record.outcome = "ok"
    pairing = pair_paced(load.records, delivered)
    every, first = _timings(load.records, answers, requests, pairing.paced_ms, scenario.burst)
    span = (max(t.final_at for t in every) - min(t.user_at for t in every)) if every else 0.0
    lags = [lag for w in windows if (lag := loop_lag(parse_loop_lag(w))) is not None]
    longest, affected = recovery(kills, load.records, answers, options.partitions)
    notes = [
        "own overhead, pacing wait and first text: the first question of each burst "
        f"({len(first)} turns); e2e: every turn",
    ]
    if pairing.unmatched_chats:
        notes.append(
            f"{len(pairing.unmatched_chats)} chat(s) logged a different number of 'answer "
            "delivered' lines than they had answers (e.g. "
            + ", ".join(map(str, pairing.unmatched_chats[:5]))
            + "): their turns have no pacing wait"
        )
    if kills:
        per_kill = recovery_per_kill(kills, load.records, answers, options.partitions)
        notes.append(
            f"{len(kills)} worker(s) killed: "
            + ", ".join(
                f"{k.victim} holding {len(k.partitions)} partition(s) at "
                f"+{k.at - load.started_at:.1f} s ({per_kill[i][0]} waiting, the last answered "
                f"after {per_kill[i][1]} s)"
                for i, k in enumerate(kills)
            )
            + f"; {affected} question(s) were waiting in their partitions"
        )
    failures = [f"{r.tag}: {r.outcome} {r.detail}".strip() for r in sent if r.tag not in answered]
    failures += [f"{r.tag}: {r.outcome} {r.detail}" for r in load.records if r.outcome == "error"]
    return RunResult(
        scenario=scenario.name,
        chats=scenario.chats,
        database=database_kind(options.database_url),
        turns_ok=len(answered),
        turns_failed=lost,
        overhead_ms=summarize(t.overhead for t in first),
        own_overhead_ms=summarize(t.own_overhead for t in first),
        pacing_wait_ms=summarize(t.paced for t in first),
        before_llm_ms=summarize(t.before_llm for t in first),
        after_llm_ms=summarize(t.after_llm for t in first),
        first_text_after_llm_ms=summarize(t.first_text_after_llm for t in first),
        e2e_ms=summarize(t.e2e for t in every),
        llm_ms=summarize(t.llm_time for t in every),
        draft_lag_ms=summarize([]),
        draft_freshness_ms=summarize([]),
        turns_per_s=round(len(every) / span, 2) if span > 0 else None,
        wall_s=round(wall, 2),
        rss_start_mb=None,
        peak_rss_mb=peak,
        bot_cpu_s=round(cpu, 3),
        bot_cpu_pct=round(100 * cpu / wall, 1) if wall > 0 else None,
        bot_cpu_pct_steady=None,
        bot_idle_cpu_pct=None,
        cpu_ms_per_turn=round(1000 * cpu / len(answered), 2) if answered else None,
        bench_cpu_s=0.0,
        loop_lag_p99_ms=max((lag.p99_ms for lag in lags), default=None),
        loop_lag_max_ms=max((lag.max_ms for lag in lags), default=None),
        loop_lag_periods=sum(lag.periods for lag in lags),
        llm_chunks=sum(len(r.get("chunk_times") or []) for r in requests),
        llm_chunks_per_s=None,
        llm_streams_active_avg=None,
        drafts_unplaced=0,
        paced_turns=sum(1 for t in first if t.paced is not None),
        rejections_429=0,
        rejections_by_method={},
        bot_calls={},
        pacer="off",
        settings={
            **_settings(scenario),
            "workers": scenario.workers,
            "ingress": scenario.ingress,
            "burst": scenario.burst,
            "chaos_every_s": scenario.chaos_every_s,
            "lease_seconds": options.lease_seconds,
            "partitions": options.partitions,
        },
        notes=notes,
        failures=failures,
        workers=scenario.workers,
        ordering_violations=sum(a.ordering_violations for a in answers.values()),
        lost_turns=lost,
        duplicated_answers=sum(a.duplicates for a in answers.values()),
        max_recovery_s=longest,
        kills=len(kills),
    )
