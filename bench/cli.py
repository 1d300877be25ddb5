"""Command line of the load benchmark: scenarios, repetitions, table and JSON output."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import (
    aggregate,
    pair_per_chunk,
    run_objects,
    scale_goals,
    scale_table,
    table,
    targets_table,
)
from bench.scale import run_scale
from bench.scenarios import (
    TELEGRAM_MESSAGES_PER_SECOND,
    RunResult,
    Scenario,
    default_turns,
    make_reply,
    run_scenario,
    think_for_rate,
    turn_estimate,
)
from bench.stack import BotOptions, database_kind

EXIT_FAILED_TURNS = 1
EXIT_ABORTED = 3
TIME_CAP = 30.0
"""Default streaming scenarios start no new turn after this many seconds (bounds run time)."""


def _concurrency(value: str) -> list[int]:
    try:
        levels = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected comma-separated integers, e.g. 1,50,200"
        ) from None
    if not levels or any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError("concurrency levels must be positive integers")
    return levels


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(value: str) -> int | float:
        number = kind(value)
        if number <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return number

    return parse


SCENARIOS = ("streaming", "capacity", "paced", "gpu-stream", "fairness", "scale")
DEFAULT_SCENARIOS = SCENARIOS[:-1]
"""scale needs PostgreSQL and Redis (--database-url, --redis-url): only when asked for."""
ONE_CHUNK = 4096
"""chunk_chars of the instant scenarios: the whole (short) answer in one chunk."""
FAIRNESS_FACTOR = 3
"""The fairness scenario asks for this many times Telegram's global limit."""
CHAOS_EVERY = 10.0
"""--chaos: seconds between two SIGKILLs."""


def _scenario_names(value: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown scenario(s) {', '.join(unknown) or '(none)'}; choose from "
            + ", ".join(SCENARIOS)
        )
    return list(dict.fromkeys(names))


def _postgres_url(value: str) -> str:
    if not value.startswith("postgresql+asyncpg://"):
        raise argparse.ArgumentTypeError(
            "expected a postgresql+asyncpg://USER@HOST:PORT/DATABASE URL (without it, every "
            "run has a new SQLite file)"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Load benchmark: the real bot process against the Telegram and LLM "
        "sandboxes, with simulated users in private chats (see docs/benchmark.md). "
        "PDF extraction benchmark: python -m bench pdf --help.",
    )
    parser.add_argument(
        "--scenario",
        type=_scenario_names,
        metavar="LIST",
        default=list(DEFAULT_SCENARIOS),
        help="comma-separated scenarios to run (default: all of "
        + ", ".join(DEFAULT_SCENARIOS)
        + "); scale: several bot processes on PostgreSQL and Redis",
    )
    parser.add_argument(
        "--concurrency",
        type=_concurrency,
        metavar="LIST",
        default=None,
        help="chats of the streaming scenario runs (default 1,50,200; --quick: 1,10)",
    )
    parser.add_argument(
        "--turns",
        type=_positive(int),
        default=None,
        help="turns per chat in the streaming scenario (default: about 20 s of load, "
        "no new turn after 30 s)",
    )
    parser.add_argument(
        "--runs", type=_positive(int), default=1, help="repeat each scenario; report medians"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: a few seconds of load per scenario"
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="also write every run here"
    )
    parser.add_argument(
        "--database-url",
        type=_postgres_url,
        default=None,
        metavar="URL",
        help="run the bot on this database (postgresql+asyncpg://...) instead of a new SQLite "
        "file; its public schema is DROPPED and recreated before every run",
    )
    llm = parser.add_argument_group("scripted LLM of the streaming and paced scenarios")
    llm.add_argument("--ttft-ms", type=float, default=300.0, help="time to first token")
    llm.add_argument(
        "--tokens-per-s", type=_positive(float), default=30.0, help="streaming speed (word chunks)"
    )
    llm.add_argument("--answer-words", type=int, default=60, help="length of each answer")
    load = parser.add_argument_group("load")
    load.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="streaming scenario: pause between an answer and the next message",
    )
    load.add_argument(
        "--capacity-chats",
        type=_concurrency,
        metavar="LIST",
        default=None,
        help="chats of the capacity runs (default 1,200; --quick: 1,20)",
    )
    load.add_argument(
        "--capacity-seconds",
        type=_positive(float),
        default=None,
        help="how long users keep starting turns in a capacity run (default 15; --quick: 3)",
    )
    load.add_argument(
        "--paced-chats",
        type=_positive(int),
        default=None,
        help="chats of the paced scenario (default 200; --quick: 20)",
    )
    load.add_argument(
        "--paced-rate",
        type=_positive(float),
        default=20.0,
        help="answers per second the paced scenario's users ask for (think time follows; "
        "default 20, under Telegram's 30)",
    )
    load.add_argument(
        "--paced-seconds",
        type=_positive(float),
        default=None,
        help="paced scenario: no new turn after this many seconds past the ramp "
        "(default 40; --quick: 4)",
    )
    load.add_argument(
        "--gpu-chats",
        type=_positive(int),
        default=None,
        help="concurrent answers of the gpu-stream scenario (default 128; --quick: 16)",
    )
    load.add_argument(
        "--gpu-tokens-per-s",
        type=_positive(float),
        default=50.0,
        help="gpu-stream: streaming speed of each answer (default 50)",
    )
    load.add_argument(
        "--gpu-answer-words",
        type=_positive(int),
        default=None,
        help="gpu-stream: words per answer (default 500, one message; --quick: 100)",
    )
    load.add_argument(
        "--gpu-seconds",
        type=_positive(float),
        default=None,
        help="gpu-stream: seconds of back-to-back answers after the ramp (default 60; --quick: 4)",
    )
    load.add_argument(
        "--fairness-chats",
        type=_positive(int),
        default=120,
        help="chats of the fairness scenario (default 120; at least 90, so that demand is "
        "bound by the global limit, not by each chat's 1 message/s)",
    )
    load.add_argument(
        "--fairness-seconds",
        type=_positive(float),
        default=None,
        help="fairness: no new turn after this many seconds (default 20; --quick: 4)",
    )
    load.add_argument(
        "--no-limits",
        action="store_true",
        help="the sandbox does not enforce Telegram's rate limits (no 429s) in any scenario",
    )
    scale = parser.add_argument_group(
        "scale scenario: worker processes on one PostgreSQL database and one Redis"
    )
    scale.add_argument(
        "--workers",
        type=_concurrency,
        metavar="LIST",
        default=[1, 2],
        help="worker processes of each scale run (default 1,2)",
    )
    scale.add_argument(
        "--redis-url", default=None, metavar="URL", help="redis://HOST:PORT/DB (needed by scale)"
    )
    scale.add_argument(
        "--ingress",
        choices=("polling", "webhook"),
        default="polling",
        help="polling: every process may poll (one at a time, under a lease); webhook: "
        "two python -m bot ingress replicas behind a balancer (default polling)",
    )
    scale.add_argument(
        "--chaos",
        action="store_true",
        help="SIGKILL a random worker every 10 s of the load and start a new one",
    )
    scale.add_argument(
        "--scale-chats", type=_positive(int), default=None, help="chats (default 100; --quick: 20)"
    )
    scale.add_argument(
        "--scale-burst",
        type=_positive(int),
        default=3,
        help="questions each user sends back to back before waiting for the answers (default 3)",
    )
    scale.add_argument(
        "--scale-seconds",
        type=_positive(float),
        default=None,
        help="no new burst after this many seconds (default 20, with --chaos 40; --quick: 4)",
    )
    scale.add_argument(
        "--lease-seconds",
        type=_positive(float),
        default=10.0,
        help="[redis] lease_seconds of the workers (default 10, the bot's default)",
    )
    limits = parser.add_argument_group("safety and diagnostics")
    limits.add_argument(
        "--turn-timeout", type=_positive(float), default=60.0, help="seconds per answer"
    )
    limits.add_argument(
        "--timeout", type=_positive(float), default=1800.0, help="global cap, in seconds"
    )
    limits.add_argument(
        "--keep-logs",
        type=Path,
        default=None,
        metavar="DIR",
        help="copy each run's bot log into this directory",
    )
    limits.add_argument(
        "--quotas",
        action="store_true",
        help="configure a free plan limiting the model, so every turn reserves and settles quota",
    )
    limits.add_argument(
        "--bot-log-level", default="INFO", help="BOT_LOG_LEVEL of the bot process (default INFO)"
    )
    limits.add_argument(
        "--loop-lag-seconds",
        type=_positive(float),
        default=None,
        help="BOT_LOOP_LAG_SECONDS: how often the bot logs its event-loop lag "
        "(default 2; --quick: 1)",
    )
    return parser


def build_scenarios(args: argparse.Namespace) -> list[Scenario]:
    quick = bool(args.quick)
    wanted: list[str] = args.scenario
    enforce = not args.no_limits
    ramp = 0.2 if quick else 1.0
    token_delay = 1000.0 / args.tokens_per_s
    reply = make_reply(args.answer_words)
    instant_reply = make_reply(0)
    scenarios: list[Scenario] = []
    streaming = Scenario(
        name="streaming",
        chats=1,
        turns=None,
        duration=None,
        ttft_ms=args.ttft_ms,
        token_delay_ms=token_delay,
        reply=reply,
        enforce_limits=enforce,
        think_s=args.think_ms / 1000,
        ramp_s=ramp,
        turn_timeout=args.turn_timeout,
        per_chunk="paired",
    )
    if "streaming" in wanted:
        levels: list[int] = args.concurrency or ([1, 10] if quick else [1, 50, 200])
        for chats in levels:
            scenario = replace(streaming, chats=chats)
            if args.turns is not None:  # exactly that many turns per chat
                scenarios.append(replace(scenario, turns=args.turns))
            elif quick:
                scenarios.append(replace(scenario, turns=2))
            else:  # about TARGET_SECONDS of load; a bot that cannot keep up is cut at TIME_CAP
                turns = default_turns(replace(scenario, turns=1))
                scenarios.append(replace(scenario, turns=turns, duration=TIME_CAP))
    instant = replace(
        streaming,
        ttft_ms=0.0,
        token_delay_ms=0.0,
        reply=instant_reply,
        think_s=0.0,
        chunk_chars=ONE_CHUNK,
        per_chunk="none",
    )
    if "capacity" in wanted:
        # The bot's own limit: no model time, no pacer, no Telegram limits.
        for chats in args.capacity_chats or ([1, 20] if quick else [1, 200]):
            scenarios.append(
                replace(
                    instant,
                    name="capacity",
                    chats=chats,
                    duration=args.capacity_seconds or (3.0 if quick else 15.0),
                    enforce_limits=False,
                    pacer_off=True,
                )
            )
    if "paced" in wanted:
        # Many chats whose demand stays under the global limit: nothing should wait for
        # Telegram, so own overhead and loop lag are the bot's alone. Starts spread over one
        # cycle (chats / rate), so the answers arrive evenly instead of in waves.
        chats = args.paced_chats or (20 if quick else 200)
        turn = turn_estimate(args.ttft_ms, token_delay, reply)
        scenarios.append(
            replace(
                streaming,
                name="paced",
                chats=chats,
                duration=args.paced_seconds or (4.0 if quick else 40.0),
                think_s=think_for_rate(chats, args.paced_rate, turn),
                ramp_s=chats / args.paced_rate,
                per_chunk="none",
            )
        )
    if "gpu-stream" in wanted:
        # Many long answers streaming at once, back to back: the cost of streaming itself.
        words = args.gpu_answer_words or (100 if quick else 500)
        gpu_reply = make_reply(words)
        gpu_delay = 1000.0 / args.gpu_tokens_per_s
        scenarios.append(
            replace(
                streaming,
                name="gpu-stream",
                chats=args.gpu_chats or (16 if quick else 128),
                duration=args.gpu_seconds or (4.0 if quick else 60.0),
                token_delay_ms=gpu_delay,
                reply=gpu_reply,
                think_s=0.0,
                # spread over one answer, so that drafts and final messages do not come in waves
                ramp_s=turn_estimate(args.ttft_ms, gpu_delay, gpu_reply),
                per_chunk="gross",
            )
        )
    if "fairness" in wanted:
        # Closed-loop users whose think time asks for FAIRNESS_FACTOR x the global limit:
        # the pacer must share the 30 messages/s fairly between the chats.
        chats = args.fairness_chats
        rate = FAIRNESS_FACTOR * TELEGRAM_MESSAGES_PER_SECOND
        scenarios.append(
            replace(
                instant,
                name="fairness",
                chats=chats,
                duration=args.fairness_seconds or (4.0 if quick else 20.0),
                think_s=think_for_rate(chats, rate, turn_estimate(0.0, 0.0, instant_reply)),
            )
        )
    if "scale" in wanted:
        # Instant answers on several processes, as capacity on one: the cluster's own limit.
        for workers in args.workers:
            scenarios.append(
                replace(
                    instant,
                    name="scale",
                    chats=args.scale_chats or (20 if quick else 100),
                    duration=args.scale_seconds or (4.0 if quick else 40.0 if args.chaos else 20.0),
                    enforce_limits=False,
                    pacer_off=True,
                    workers=workers,
                    ingress=args.ingress,
                    burst=args.scale_burst,
                    chaos_every_s=CHAOS_EVERY if args.chaos else 0.0,
                )
            )
    return scenarios


def _describe(scenario: Scenario) -> str:
    parts = [f"{scenario.turns} turns per chat"] if scenario.turns is not None else []
    if scenario.duration is not None:
        parts.append(f"{'at most ' if parts else ''}{scenario.duration:g} s")
    if scenario.think_s:
        parts.append(f"think {scenario.think_s:.2f} s")
    if scenario.ramp_s >= 2:
        parts.append(f"ramp {scenario.ramp_s:.1f} s")
    load = ", ".join(parts)
    llm = (
        f"ttft {scenario.ttft_ms:g} ms, {scenario.token_delay_ms:.0f} ms/chunk, "
        f"{len(scenario.reply.split())} words in {scenario.chunks_per_turn} chunk(s)"
    )
    limits = f"pacer {'off' if scenario.pacer_off else 'on'}, " + (
        "limits enforced" if scenario.enforce_limits else "limits not enforced"
    )
    if scenario.workers:
        chaos = f", SIGKILL every {scenario.chaos_every_s:g} s" if scenario.chaos_every_s else ""
        load += (
            f"; {scenario.workers} worker(s), {scenario.ingress} ingress, "
            f"bursts of {scenario.burst}{chaos}"
        )
    return f"{scenario.name} c={scenario.chats} ({load}; LLM {llm}; {limits})"


WARMUP = Scenario(
    name="warm-up",
    chats=1,
    turns=2,
    duration=None,
    ttft_ms=0.0,
    token_delay_ms=0.0,
    reply=make_reply(0),
    enforce_limits=False,
    ramp_s=0.0,
    turn_timeout=30.0,
)


async def warm_up(options: BotOptions) -> None:
    """One short unmeasured run: fills the bytecode cache and the OS page cache, and checks
    that the bot answers at all before minutes are spent on the scenarios."""
    print("warming up (bot start and two turns, not measured) ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    result = await run_scenario(WARMUP, options)
    if result.turns_failed or result.failures:
        details = "\n".join(result.failures[:5])
        raise RuntimeError(f"the bot failed the warm-up turns:\n{details}")
    print(f"warm-up done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


async def run_all(
    scenarios: list[Scenario],
    runs: int,
    options: BotOptions,
    results: dict[int, list[RunResult]],
    keep_logs: Path | None = None,
) -> None:
    """Each round runs every scenario once (rounds interleave scenarios against drift)."""
    await warm_up(options)
    for round_no in range(1, runs + 1):
        for index, scenario in enumerate(scenarios):
            label = f"[run {round_no}/{runs}] {_describe(scenario)}"
            print(f"{label} ...", file=sys.stderr, flush=True)
            started = time.monotonic()
            log = None
            if keep_logs is not None:
                log = (
                    keep_logs / f"{index + 1:02d}-{scenario.name}-c{scenario.chats}-{round_no}.log"
                )
            run = run_scale if scenario.workers else run_scenario
            result = await run(scenario, options, log)
            result.run = round_no
            results.setdefault(index, []).append(result)
            print(
                f"{label}: {result.turns_ok} turns ok, {result.turns_failed} failed, "
                f"{result.rejections_429} x 429, {time.monotonic() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            for note in result.notes:
                print(f"    note: {note}", file=sys.stderr)
            for failure in result.failures[:5]:
                print(f"    {failure}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["moderation"]:  # hidden streaming vs sentence by sentence (bench/moderation.py)
        from bench.moderation import main as moderation_main

        return moderation_main(argv[1:])
    if argv[:1] == ["pdf"]:  # subcommand: the PDF worker benchmark (bench/pdf.py)
        from bench.pdf import main as pdf_main  # fpdf2 and pypdf: only this subcommand

        return pdf_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if "scale" in args.scenario and (args.database_url is None or args.redis_url is None):
        parser.error("the scale scenario needs --database-url (PostgreSQL) and --redis-url")
    scenarios = build_scenarios(args)
    results: dict[int, list[RunResult]] = {}
    started = time.monotonic()
    aborted: str | None = None
    if args.database_url is not None:
        print(
            f"database: {database_kind(args.database_url)}; its public schema is dropped and "
            "recreated before every run",
            file=sys.stderr,
        )

    async def bounded(options: BotOptions) -> None:
        # SIGTERM (e.g. from a CI job's timeout) unwinds like Ctrl-C: the bot is stopped too.
        task = asyncio.current_task()
        if task is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        async with asyncio.timeout(args.timeout):
            await run_all(scenarios, args.runs, options, results, args.keep_logs)

    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        no_bytecode = sys.flags.dont_write_bytecode or bool(
            os.environ.get("PYTHONDONTWRITEBYTECODE")
        )
        options = BotOptions(
            args.bot_log_level,
            Path(cache) if no_bytecode else None,
            quotas=args.quotas,
            database_url=args.database_url,
            loop_lag_seconds=args.loop_lag_seconds or (1.0 if args.quick else 2.0),
            redis_url=args.redis_url,
            lease_seconds=args.lease_seconds,
        )
        try:
            asyncio.run(bounded(options))
        except TimeoutError:
            aborted = f"the benchmark hit its global timeout ({args.timeout:g} s)"
        except (KeyboardInterrupt, asyncio.CancelledError):
            aborted = "interrupted"
        except RuntimeError as exc:
            aborted = str(exc)
    pair_per_chunk(scenarios, results)
    rows = [(scenarios[i], aggregate(runs)) for i, runs in sorted(results.items())]
    print()
    if args.runs > 1:
        print(f"Medians of {args.runs} runs per scenario.")
    print(table(rows))
    targets = targets_table(rows, database_kind(args.database_url))
    if targets:
        print()
        print(targets)
    if any(scenario.workers for scenario, _ in rows):
        print()
        print(scale_table(rows))
        print()
        print(scale_goals(rows, args.lease_seconds))
    failed = sum(agg["turns_failed"] for _, agg in rows)
    if args.json is not None:
        _write_json(args, results, time.monotonic() - started, aborted)
    if aborted is not None:
        print(f"\nABORTED: {aborted}", file=sys.stderr)
        return EXIT_ABORTED
    if failed:
        print(f"\nFAILED: the bot did not answer {failed} turn(s) in time", file=sys.stderr)
        return EXIT_FAILED_TURNS
    return 0


def _write_json(
    args: argparse.Namespace,
    results: dict[int, list[RunResult]],
    elapsed: float,
    aborted: str | None,
) -> None:
    """A JSON array with one object per run (see :meth:`RunResult.as_json`)."""
    meta = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": [Path(sys.executable).name, "-m", "bench", *sys.argv[1:]],
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "elapsed_s": round(elapsed, 1),
        "aborted": aborted,
    }
    document = run_objects(results, meta)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults written to {args.json}", file=sys.stderr)
