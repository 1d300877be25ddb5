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

from bench.metrics import median
from bench.scenarios import RunResult, Scenario, default_turns, make_reply, run_scenario
from bench.stack import BotOptions

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Load benchmark: the real bot process against the Telegram and LLM "
        "sandboxes, with simulated users in private chats (see docs/benchmark.md). "
        "PDF extraction benchmark: python -m bench pdf --help.",
    )
    parser.add_argument(
        "--concurrency",
        type=_concurrency,
        metavar="LIST",
        default=None,
        help="chats of the streaming scenarios (default 1,50,200; --quick: 1,10)",
    )
    parser.add_argument(
        "--turns",
        type=_positive(int),
        default=None,
        help="turns per chat in the streaming scenarios (default: about 20 s of load, "
        "no new turn after 30 s)",
    )
    parser.add_argument(
        "--runs", type=_positive(int), default=1, help="repeat each scenario; report medians"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: a few seconds of load per scenario"
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="also write results here"
    )
    llm = parser.add_argument_group("scripted LLM of the streaming scenarios")
    llm.add_argument("--ttft-ms", type=float, default=300.0, help="time to first token")
    llm.add_argument(
        "--tokens-per-s", type=_positive(float), default=30.0, help="streaming speed (word chunks)"
    )
    llm.add_argument("--answer-words", type=int, default=60, help="length of each answer")
    load = parser.add_argument_group("load")
    load.add_argument(
        "--think-ms", type=float, default=0.0, help="pause between an answer and the next message"
    )
    load.add_argument(
        "--throughput-chats",
        type=_positive(int),
        default=None,
        help="chats of the instant-LLM throughput scenario (default 200; --quick: 20)",
    )
    load.add_argument(
        "--throughput-seconds",
        type=_positive(float),
        default=None,
        help="length of the throughput scenario (default 15; --quick: 3)",
    )
    load.add_argument("--no-throughput", action="store_true", help="skip the throughput scenario")
    load.add_argument(
        "--no-limits",
        action="store_true",
        help="do not enforce Telegram's rate limits in the sandbox (no 429s)",
    )
    limits = parser.add_argument_group("safety")
    limits.add_argument(
        "--turn-timeout", type=_positive(float), default=60.0, help="seconds per answer"
    )
    limits.add_argument(
        "--timeout", type=_positive(float), default=900.0, help="global cap, in seconds"
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
    return parser


def build_scenarios(args: argparse.Namespace) -> list[Scenario]:
    quick = bool(args.quick)
    levels: list[int] = args.concurrency or ([1, 10] if quick else [1, 50, 200])
    enforce = not args.no_limits
    ramp = 0.2 if quick else 1.0
    streaming = Scenario(
        name="streaming",
        chats=1,
        turns=None,
        duration=None,
        ttft_ms=args.ttft_ms,
        token_delay_ms=1000.0 / args.tokens_per_s,
        reply=make_reply(args.answer_words),
        enforce_limits=enforce,
        think_s=args.think_ms / 1000,
        ramp_s=ramp,
        turn_timeout=args.turn_timeout,
    )
    scenarios: list[Scenario] = []
    for chats in levels:
        scenario = replace(streaming, chats=chats)
        if args.turns is not None:  # exactly that many turns per chat
            scenarios.append(replace(scenario, turns=args.turns))
        elif quick:
            scenarios.append(replace(scenario, turns=2))
        else:  # about TARGET_SECONDS of load; a bot that cannot keep up is cut at TIME_CAP
            turns = default_turns(replace(scenario, turns=1))
            scenarios.append(replace(scenario, turns=turns, duration=TIME_CAP))
    if not args.no_throughput:
        scenarios.append(
            Scenario(
                name="instant",
                chats=args.throughput_chats or (20 if quick else 200),
                turns=None,
                duration=args.throughput_seconds or (3.0 if quick else 15.0),
                ttft_ms=0.0,
                token_delay_ms=0.0,
                reply=make_reply(0),
                enforce_limits=enforce,
                think_s=args.think_ms / 1000,
                ramp_s=ramp,
                turn_timeout=args.turn_timeout,
            )
        )
    return scenarios


def aggregate(runs: list[RunResult]) -> dict[str, Any]:
    """Medians across runs of every reported number; failures are summed."""

    def med(pick: Any) -> float | None:
        value = median(pick(run) for run in runs)
        return None if value is None else round(value, 2)

    result: dict[str, Any] = {
        "turns_ok": med(lambda r: r.turns_ok),
        "turns_failed": sum(r.turns_failed for r in runs),
        "turns_per_s": med(lambda r: r.turns_per_s),
        "peak_rss_mb": med(lambda r: r.peak_rss_mb),
        "rss_start_mb": med(lambda r: r.rss_start_mb),
        "rejections_429": med(lambda r: r.rejections_429),
        "bot_cpu_s": med(lambda r: r.bot_cpu_s),
        "bench_cpu_s": med(lambda r: r.bench_cpu_s),
        "wall_s": med(lambda r: r.wall_s),
    }
    for key in (
        "overhead_ms",
        "before_llm_ms",
        "after_llm_ms",
        "first_text_after_llm_ms",
        "e2e_ms",
        "llm_ms",
    ):
        result[key] = {
            q: med(lambda r, k=key, q=q: getattr(r, k)[q]) for q in ("p50", "p95", "max")
        }
    return result


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _pair(summary: dict[str, float | None]) -> str:
    return f"{_num(summary['p50'])} / {_num(summary['p95'])}"


def table(rows: list[tuple[int, Scenario, dict[str, Any]]]) -> str:
    head = (
        "| scenario | chats | turns | overhead p50/p95 ms | before / after LLM p50 ms "
        "| first text after LLM p50/p95 ms | e2e p50/p95 ms | turns/s | peak RSS MB | 429s |"
    )
    lines = [head, "|" + "---|" * 10]
    for _, scenario, agg in rows:
        turns = _num(agg["turns_ok"])
        if agg["turns_failed"]:
            turns += f" ({agg['turns_failed']} failed)"
        lines.append(
            f"| {scenario.name} | {scenario.chats} | {turns} | {_pair(agg['overhead_ms'])} "
            f"| {_num(agg['before_llm_ms']['p50'])} / {_num(agg['after_llm_ms']['p50'])} "
            f"| {_pair(agg['first_text_after_llm_ms'])} | {_pair(agg['e2e_ms'])} "
            f"| {_num(agg['turns_per_s'], 1)} | {_num(agg['peak_rss_mb'], 1)} "
            f"| {_num(agg['rejections_429'])} |"
        )
    return "\n".join(lines)


def _describe(scenario: Scenario) -> str:
    parts = [f"{scenario.turns} turns per chat"] if scenario.turns is not None else []
    if scenario.duration is not None:
        parts.append(f"{'at most ' if parts else ''}{scenario.duration:g} s")
    load = ", ".join(parts)
    llm = (
        f"ttft {scenario.ttft_ms:g} ms, {scenario.token_delay_ms:.0f} ms/word, "
        f"{len(scenario.reply.split())} words"
    )
    return f"{scenario.name} c={scenario.chats} ({load}; LLM {llm})"


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
            result = await run_scenario(scenario, options, log)
            results.setdefault(index, []).append(result)
            print(
                f"{label}: {result.turns_ok} turns ok, {result.turns_failed} failed, "
                f"{result.rejections_429} x 429, {time.monotonic() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
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
    args = build_parser().parse_args(argv)
    scenarios = build_scenarios(args)
    results: dict[int, list[RunResult]] = {}
    started = time.monotonic()
    aborted: str | None = None

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
            args.bot_log_level, Path(cache) if no_bytecode else None, quotas=args.quotas
        )
        try:
            asyncio.run(bounded(options))
        except TimeoutError:
            aborted = f"the benchmark hit its global timeout ({args.timeout:g} s)"
        except (KeyboardInterrupt, asyncio.CancelledError):
            aborted = "interrupted"
        except RuntimeError as exc:
            aborted = str(exc)
    rows = [(i, scenarios[i], aggregate(runs)) for i, runs in sorted(results.items())]
    print()
    if args.runs > 1:
        print(f"Medians of {args.runs} runs per scenario.")
    print(table(rows))
    failed = sum(agg["turns_failed"] for _, _, agg in rows)
    if args.json is not None:
        _write_json(args, scenarios, results, rows, time.monotonic() - started, aborted)
    if aborted is not None:
        print(f"\nABORTED: {aborted}", file=sys.stderr)
        return EXIT_ABORTED
    if failed:
        print(f"\nFAILED: the bot did not answer {failed} turn(s) in time", file=sys.stderr)
        return EXIT_FAILED_TURNS
    return 0


def _write_json(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    results: dict[int, list[RunResult]],
    rows: list[tuple[int, Scenario, dict[str, Any]]],
    elapsed: float,
    aborted: str | None,
) -> None:
    document = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": [Path(sys.executable).name, "-m", "bench", *sys.argv[1:]],
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "elapsed_s": round(elapsed, 1),
        "aborted": aborted,
        "scenarios": [
            {
                "name": scenario.name,
                "chats": scenario.chats,
                "turns_per_chat": scenario.turns,
                "duration_s": scenario.duration,
                "llm": {
                    "ttft_ms": scenario.ttft_ms,
                    "token_delay_ms": round(scenario.token_delay_ms, 2),
                    "answer_words": len(scenario.reply.split()),
                },
                "enforce_limits": scenario.enforce_limits,
                "think_s": scenario.think_s,
                "median": agg,
                "runs": [run.as_json() for run in results.get(index, [])],
            }
            for index, scenario, agg in rows
        ],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults written to {args.json}", file=sys.stderr)
