"""The benchmark's report: medians across runs, the results table, the targets table, JSON.

The table has one row per scenario run (the median of its ``--runs``); the targets table picks
from those rows the numbers the performance goals are stated in ("which limit is which").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.metrics import median
from bench.scenarios import RunResult, Scenario, pair_cpu_per_chunk
from bench.stack import bot_draft_interval

Row = tuple[Scenario, dict[str, Any]]

_SUMMARIES = (
    "own_overhead_ms",
    "pacing_wait_ms",
    "overhead_ms",
    "before_llm_ms",
    "after_llm_ms",
    "first_text_after_llm_ms",
    "e2e_ms",
    "llm_ms",
    "draft_lag_ms",
    "draft_freshness_ms",
)
_SCALARS = (
    "turns_ok",
    "turns_per_s",
    "peak_rss_mb",
    "rss_start_mb",
    "rejections_429",
    "bot_cpu_s",
    "bot_cpu_pct",
    "bot_cpu_pct_steady",
    "cpu_ms_per_turn",
    "cpu_us_per_chunk",
    "bench_cpu_s",
    "wall_s",
    "loop_lag_p99_ms",
    "loop_lag_max_ms",
    "llm_streams_active_avg",
    "pacing_ratio",
)


def aggregate(runs: Sequence[RunResult]) -> dict[str, Any]:
    """Medians across runs of every reported number (p95 = median of the runs' p95s);
    failed turns are summed."""

    def med(values: Iterable[float | None]) -> float | None:
        value = median(values)
        return None if value is None else round(value, 2)

    result: dict[str, Any] = {"turns_failed": sum(r.turns_failed for r in runs)}
    for key in _SCALARS:
        result[key] = med(getattr(run, key) for run in runs)
    for key in _SUMMARIES:
        result[key] = {
            q: med(getattr(run, key).get(q) for run in runs) for q in ("p50", "p95", "p99", "max")
        }
    if runs and runs[0].workers is not None:  # the scale scenario: counts summed, worst time
        for key in ("ordering_violations", "lost_turns", "duplicated_answers", "kills"):
            result[key] = sum(getattr(run, key) or 0 for run in runs)
        recoveries = [run.max_recovery_s for run in runs if run.max_recovery_s is not None]
        result["max_recovery_s"] = max(recoveries, default=None)
        result["services_cpu_pct"] = med(
            100 * r.services_cpu_s / r.wall_s for r in runs if r.services_cpu_s and r.wall_s
        )
        result["bench_cpu_pct"] = med(100 * r.bench_cpu_s / r.wall_s for r in runs if r.wall_s)
    return result


def pair_per_chunk(scenarios: Sequence[Scenario], results: dict[int, list[RunResult]]) -> None:
    """CPU per chunk of each streaming run: against the capacity run of the same round with
    the same number of chats (one-chunk instant answers), when there is one."""
    for index, scenario in enumerate(scenarios):
        if scenario.per_chunk != "paired":
            continue
        partner = next(
            (
                i
                for i, other in enumerate(scenarios)
                if other.name == "capacity" and other.chats == scenario.chats
            ),
            None,
        )
        for run in results.get(index, []):
            if partner is None:
                run.cpu_us_per_chunk_method = (
                    f"needs a capacity run with {scenario.chats} chat(s) "
                    "(--scenario capacity --capacity-chats)"
                )
                continue
            instant = next((r for r in results.get(partner, []) if r.run == run.run), None)
            if instant is None:
                continue
            difference = scenario.chunks_per_turn - scenarios[partner].chunks_per_turn
            pair_cpu_per_chunk(run, instant, difference)


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _three(summary: dict[str, float | None]) -> str:
    return " / ".join(_num(summary.get(q)) for q in ("p50", "p95", "p99"))


TABLE_HEAD = (
    "| scenario | chats | turns | turns/s | own overhead p50/p95/p99 ms "
    "| pacing wait p50/p95/p99 ms | before LLM p50 ms | first text after LLM p50/p95/p99 ms "
    "| e2e p50 ms | CPU ms/turn | CPU µs/chunk | bot CPU % | loop lag p99 ms "
    "| draft lag p95 ms | peak RSS MB | 429s |"
)


def table(rows: Sequence[Row]) -> str:
    lines = [TABLE_HEAD, "|" + "---|" * 16]
    for scenario, agg in rows:
        turns = _num(agg["turns_ok"])
        if agg["turns_failed"]:
            turns += f" ({agg['turns_failed']} failed)"
        cpu_pct = agg["bot_cpu_pct_steady"]
        if cpu_pct is None:
            cpu_pct = agg["bot_cpu_pct"]
        lines.append(
            f"| {scenario.name} | {scenario.chats} | {turns} | {_num(agg['turns_per_s'], 1)} "
            f"| {_three(agg['own_overhead_ms'])} | {_three(agg['pacing_wait_ms'])} "
            f"| {_num(agg['before_llm_ms']['p50'])} | {_three(agg['first_text_after_llm_ms'])} "
            f"| {_num(agg['e2e_ms']['p50'])} | {_num(agg['cpu_ms_per_turn'], 1)} "
            f"| {_num(agg['cpu_us_per_chunk'])} | {_num(cpu_pct)} "
            f"| {_num(agg['loop_lag_p99_ms'], 1)} | {_num(agg['draft_lag_ms']['p95'])} "
            f"| {_num(agg['peak_rss_mb'], 1)} | {_num(agg['rejections_429'])} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    """One number of the goals: which run it comes from and how it reads."""

    label: str
    scenario: str
    chats: int | None  # None: the row with the most chats
    value: Callable[[Scenario, dict[str, Any]], str | None]
    goal: str = ""


def _unit(value: float | None, form: str) -> str | None:
    return None if value is None else form.format(value)


def _ms(value: float | None) -> str | None:
    return _unit(value, "{:.0f} ms")


def _gpu_cpu(_: Scenario, agg: dict[str, Any]) -> str | None:
    """The share of a core, and how many answers really streamed at once meanwhile (a bot that
    cannot admit them all streams fewer, and its CPU share then means less)."""
    cpu = agg["bot_cpu_pct_steady"]
    if cpu is None:
        return None
    streams = agg["llm_streams_active_avg"]
    return f"{cpu:.0f} %" + ("" if streams is None else f" ({streams:.0f} streams on average)")


def _fairness(_: Scenario, agg: dict[str, Any]) -> str | None:
    ratio = agg["pacing_ratio"]
    if ratio is None:
        return None
    wait = agg["pacing_wait_ms"]
    return f"{ratio:.2f} (p50 {_num(wait['p50'])} ms, p99 {_num(wait['p99'])} ms)"


def _draft_goal() -> str:
    interval = bot_draft_interval() * 1000
    return f"≤ {interval + 50:.0f} ms (draft interval {interval:.0f} ms + 50)"


TARGETS = (
    Target(
        "capacity: turns/s ({chats} chats, instant LLM, pacer and limits off, {db})",
        "capacity",
        None,
        lambda s, a: _unit(a["turns_per_s"], "{:.1f}"),
    ),
    Target(
        "own overhead p95, {chats} chats kept under the global limit (pacing waits excluded)",
        "paced",
        None,
        lambda s, a: _ms(a["own_overhead_ms"]["p95"]),
        "≤ 10 ms",
    ),
    Target(
        "event-loop lag p99 in that run",
        "paced",
        None,
        lambda s, a: _ms(a["loop_lag_p99_ms"]),
    ),
    Target(
        "GPU stream, {chats} answers at {tps} tokens/s: bot CPU, % of one core",
        "gpu-stream",
        None,
        _gpu_cpu,
        "≤ 35 %",
    ),
    Target(
        "GPU stream: draft lag p95",
        "gpu-stream",
        None,
        lambda s, a: _ms(a["draft_lag_ms"]["p95"]),
        "draft",
    ),
    Target(
        "fairness over the global limit ({chats} chats): final-message pacing wait p99 / p50",
        "fairness",
        None,
        _fairness,
    ),
    Target(
        "one chat, instant model: message to final answer p50",
        "capacity",
        1,
        lambda s, a: _ms(a["e2e_ms"]["p50"]),
    ),
    Target(
        "one chat, streamed answer of {chunks} chunks: bot CPU per turn",
        "streaming",
        1,
        lambda s, a: _unit(a["cpu_ms_per_turn"], "{:.1f} ms"),
    ),
    Target(
        "one chat: own overhead before the model is asked, p50",
        "streaming",
        1,
        lambda s, a: _ms(a["before_llm_ms"]["p50"]),
    ),
    Target(
        "first visible text after the LLM's first token, 50 chats: p95",
        "streaming",
        50,
        lambda s, a: _ms(a["first_text_after_llm_ms"]["p95"]),
    ),
    Target(
        "CPU per streamed chunk (one chat: streaming minus instant, per extra chunk)",
        "streaming",
        1,
        lambda s, a: _unit(a["cpu_us_per_chunk"], "{:.0f} µs"),
    ),
    Target(
        "CPU per chunk, GPU stream (gross: all bot CPU / chunks streamed)",
        "gpu-stream",
        None,
        lambda s, a: _unit(a["cpu_us_per_chunk"], "{:.0f} µs"),
    ),
    Target(
        "CPU per turn at capacity ({chats} chats)",
        "capacity",
        None,
        lambda s, a: _unit(a["cpu_ms_per_turn"], "{:.2f} ms"),
    ),
)


SCALE_HEAD = (
    "| workers | ingress | chats | turns | turns/s | CPU ms/turn (all processes) "
    "| e2e p50/p95/p99 ms | ordering violations | lost | duplicated | kills "
    "| max recovery s | CPU % bot / PostgreSQL+Redis / benchmark | peak RSS MB (one process) |"
)


def scale_table(rows: Sequence[Row]) -> str:
    """The scale runs: throughput and what the cluster got wrong (counts summed over runs)."""
    lines = [SCALE_HEAD, "|" + "---|" * 14]
    for scenario, agg in rows:
        if not scenario.workers:
            continue
        lines.append(
            f"| {scenario.workers} | {scenario.ingress} | {scenario.chats} "
            f"| {_num(agg['turns_ok'])} | {_num(agg['turns_per_s'], 1)} "
            f"| {_num(agg['cpu_ms_per_turn'], 1)} | {_three(agg['e2e_ms'])} "
            f"| {agg['ordering_violations']} | {agg['lost_turns']} | {agg['duplicated_answers']} "
            f"| {agg['kills']} | {_num(agg['max_recovery_s'], 1)} "
            f"| {_num(agg['bot_cpu_pct'])} / {_num(agg['services_cpu_pct'])} "
            f"/ {_num(agg['bench_cpu_pct'])} | {_num(agg['peak_rss_mb'], 1)} |"
        )
    return "\n".join(lines)


def _pick(rows: Sequence[Row], name: str, chats: int | None) -> Row | None:
    candidates = [row for row in rows if row[0].name == name]
    if chats is not None:
        candidates = [row for row in candidates if row[0].chats == chats]
    return max(candidates, key=lambda row: row[0].chats, default=None)


def targets_table(rows: Sequence[Row], database: str) -> str:
    """The goals' numbers, each from the row it is defined on (rows that did not run: left out)."""
    lines = ["| number | run | value | goal |", "|---|---|---|---|"]
    for target in TARGETS:
        row = _pick(rows, target.scenario, target.chats)
        if row is None:
            continue
        scenario, agg = row
        value = target.value(scenario, agg)
        label = target.label.format(
            chats=scenario.chats,
            db={"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(database, database),
            tps=_num(1000 / scenario.token_delay_ms) if scenario.token_delay_ms else "∞",
            chunks=scenario.chunks_per_turn,
        )
        goal = _draft_goal() if target.goal == "draft" else target.goal
        lines.append(f"| {label} | {scenario.name} c={scenario.chats} | {value or '-'} | {goal} |")
    return "\n".join(lines) if len(lines) > 2 else ""


SCALE_SPEEDUP_GOAL = 1.7
RECOVERY_MARGIN_S = 5.0


def scale_goals(rows: Sequence[Row], lease_seconds: float) -> str:
    """The scale issue's goals, one line each, from the runs that measure them: 2 workers'
    capacity over 1's (runs without chaos, same ingress); with chaos, nothing out of order,
    lost or duplicated, and a killed worker's chats recovered within the lease + 5 s."""
    scale = [(s, a) for s, a in rows if s.workers]
    calm = {(s.ingress, s.workers): a for s, a in scale if not s.chaos_every_s}
    lines = []
    for ingress in sorted({ingress for ingress, _ in calm}):
        one, two = calm.get((ingress, 1)), calm.get((ingress, 2))
        if one and two and one["turns_per_s"] and two["turns_per_s"]:
            ratio = two["turns_per_s"] / one["turns_per_s"]
            met = "met" if ratio >= SCALE_SPEEDUP_GOAL else "not met"
            lines.append(
                f"- capacity ({ingress}), 2 workers over 1: {ratio:.2f}x "
                f"(goal ≥ {SCALE_SPEEDUP_GOAL}x: {met})"
            )
    for scenario, agg in scale:
        if not scenario.chaos_every_s:
            continue
        wrong = agg["ordering_violations"] + agg["lost_turns"] + agg["duplicated_answers"]
        recovered, limit = agg["max_recovery_s"], lease_seconds + RECOVERY_MARGIN_S
        within = "no kill measured" if recovered is None else f"{recovered:.1f} s"
        in_time = recovered is not None and recovered <= limit
        lines.append(
            f"- chaos ({scenario.ingress}, {scenario.workers} workers, {scenario.chats} chats): "
            f"{agg['ordering_violations']} out of order, {agg['lost_turns']} lost, "
            f"{agg['duplicated_answers']} duplicated (goal 0: {'met' if not wrong else 'not met'});"
            f" longest recovery {within} (goal ≤ {limit:g} s: {'met' if in_time else 'not met'})"
        )
    return "\n".join(lines)


def run_objects(results: dict[int, list[RunResult]], meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``--json`` document: one object per run, in the order they ran."""
    runs = [run for index in sorted(results) for run in results[index]]
    runs.sort(key=lambda run: run.run)
    return [{**run.as_json(), "meta": meta} for run in runs]
