"""The benchmark's arithmetic: the bot's log lines, pairing pacing waits with turns,
percentiles, draft lag, CPU per chunk, the report and the JSON run objects."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, Field

from bench.botlog import (
    Delivered,
    LagPeriod,
    loop_lag,
    pair_paced,
    parse_delivered,
    parse_loop_lag,
    window_text,
)
from bench.cli import build_parser, build_scenarios
from bench.metrics import (
    TurnTiming,
    draft_lags,
    percentile,
    quantiles,
    ratio,
    summarize,
)
from bench.report import aggregate, pair_per_chunk, run_objects, table, targets_table
from bench.scenarios import (
    RunResult,
    Scenario,
    make_reply,
    stream_rate,
    streams_active,
    think_for_rate,
)
from bench.stack import PACER_KEYS, database_kind, pacer_config, pacer_off_values
from bot import config_sections

PREFIX = "2026-12-07 02:21:12,896 INFO"


def delivered_line(chat: int, answer: int, paced: float, parts: int = 1) -> str:
    return (
        f"{PREFIX} bot.chat.answering: answer delivered: chat={chat} answer={answer} "
        f"parts={parts} paced_ms={paced:.1f}"
    )


def lag_line(p50: float, p99: float, top: float, samples: int) -> str:
    return (
        f"{PREFIX} bot.looplag: event loop lag: p50={p50:.1f} ms p99={p99:.1f} ms "
        f"max={top:.1f} ms ({samples} samples)"
    )


# ----- log lines ----------------------------------------------------------------------------


def test_parse_delivered_lines() -> None:
    log = "\n".join(
        [
            f"{PREFIX} aiogram.dispatcher: Start polling",
            delivered_line(1000001, 7, 0.0),
            delivered_line(1000002, 8, 1234.5, parts=2),
            f"{PREFIX} bot.chat.other: answer delivered: chat=1 answer=2 parts=1 paced_ms=3.0",
            "garbage answer delivered: chat=x",
        ]
    )
    assert parse_delivered(log) == [
        Delivered(1000001, "7", 1, 0.0),
        Delivered(1000002, "8", 2, 1234.5),
    ]


def test_parse_loop_lag_lines() -> None:
    log = "\n".join(
        [
            lag_line(3.1, 32.5, 40.0, 19),
            f"{PREFIX} bot.looplag: something else",
            lag_line(0.5, 3.5, 3.5, 1).replace("samples", "sample"),
        ]
    )
    assert parse_loop_lag(log) == [LagPeriod(3.1, 32.5, 40.0, 19), LagPeriod(0.5, 3.5, 3.5, 1)]


def test_no_lines_leave_the_numbers_unknown() -> None:
    assert parse_delivered("") == []
    assert loop_lag(parse_loop_lag("INFO bot: nothing here\n")) is None


def test_loop_lag_is_the_worst_period_without_the_first() -> None:
    periods = [
        LagPeriod(1, 90, 95, 20),  # began before the load: left out
        LagPeriod(1, 12, 20, 20),
        LagPeriod(1, 30, 31, 20),
        LagPeriod(1, 8, 50, 20),
    ]
    lag = loop_lag(periods)
    assert lag is not None
    assert (lag.p99_ms, lag.max_ms, lag.periods) == (30, 50, 3)
    only = loop_lag(periods[:1])  # a short run: the one period there is
    assert only is not None
    assert only.p99_ms == 90


def test_window_text_keeps_whole_lines_written_inside() -> None:
    log = b"before\nstraddling line\ninside one\ninside two\nunfinished"
    start = log.index(b"straddling") + 3  # taken while that line was being written
    assert window_text(log, start, len(log)) == "inside one\ninside two\n"
    assert window_text(log, 0, log.index(b"inside")) == "before\nstraddling line\n"
    assert window_text(log, log.index(b"inside"), log.index(b"inside") + 4) == ""
    assert window_text(log, len(log) + 10, len(log) + 20) == ""


# ----- pairing pacing waits with turns ------------------------------------------------------


@dataclass
class Turn:
    chat_id: int
    index: int
    tag: str
    outcome: str = "ok"


def test_pair_paced_by_chat_and_order() -> None:
    turns = [Turn(1, 1, "u0t1"), Turn(2, 0, "u1t0"), Turn(1, 0, "u0t0")]
    lines = [Delivered(1, "a", 1, 5.0), Delivered(2, "b", 1, 7.0), Delivered(1, "c", 1, 9.0)]
    pairing = pair_paced(turns, lines)
    assert pairing.paced_ms == {"u0t0": 5.0, "u0t1": 9.0, "u1t0": 7.0}
    assert pairing.unmatched_chats == []


def test_pair_paced_skips_a_turn_that_was_not_delivered() -> None:
    # The second turn failed (an error notice, no 'answer delivered'): lines match the answered.
    turns = [Turn(1, 0, "u0t0"), Turn(1, 1, "u0t1", "failed"), Turn(1, 2, "u0t2")]
    pairing = pair_paced(turns, [Delivered(1, "a", 1, 1.0), Delivered(1, "c", 1, 3.0)])
    assert pairing.paced_ms == {"u0t0": 1.0, "u0t2": 3.0}


def test_pair_paced_with_a_late_delivery_of_a_failed_turn() -> None:
    # The benchmark gave up on the middle turn, but the bot delivered it later.
    turns = [Turn(1, 0, "u0t0"), Turn(1, 1, "u0t1", "timeout"), Turn(1, 2, "u0t2")]
    lines = [Delivered(1, "a", 1, 1.0), Delivered(1, "b", 1, 2.0), Delivered(1, "c", 1, 3.0)]
    assert pair_paced(turns, lines).paced_ms == {"u0t0": 1.0, "u0t2": 3.0}


def test_pair_paced_refuses_an_ambiguous_chat() -> None:
    turns = [Turn(1, 0, "u0t0"), Turn(1, 1, "u0t1"), Turn(2, 0, "u1t0")]
    lines = [Delivered(1, "a", 1, 1.0), Delivered(2, "b", 1, 2.0)]  # chat 1: one line, 2 turns
    pairing = pair_paced(turns, lines)
    assert pairing.paced_ms == {"u1t0": 2.0}
    assert pairing.unmatched_chats == [1]


# ----- percentiles and per-turn numbers -----------------------------------------------------


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([], 50) is None
    summary = summarize(v / 1000 for v in values)  # seconds in, milliseconds out
    assert summary["p95"] == pytest.approx(95.0, abs=0.1)
    assert summary["p99"] == pytest.approx(99.0, abs=0.1)
    assert summary["max"] == 100.0
    assert summary["n"] == 100
    assert quantiles(summary) == {"p50": 50.5, "p95": summary["p95"], "p99": summary["p99"]}
    assert quantiles(None) == {"p50": None, "p95": None, "p99": None}
    assert ratio(30.0, 10.0) == 3.0
    assert ratio(30.0, 0.0) is None
    assert ratio(None, 1.0) is None


def timing(paced: float | None) -> TurnTiming:
    return TurnTiming(
        tag="u0t0",
        user_at=10.0,
        first_text_at=10.45,
        final_at=13.0,
        llm_received_at=10.1,
        llm_first_content_at=10.4,
        llm_finished_at=12.5,
        paced=paced,
    )


def test_own_overhead_excludes_the_pacing_wait() -> None:
    with_wait = timing(0.3)
    assert with_wait.e2e == pytest.approx(3.0)
    assert with_wait.llm_time == pytest.approx(2.4)
    assert with_wait.overhead == pytest.approx(0.6)
    assert with_wait.own_overhead == pytest.approx(0.3)
    assert with_wait.first_text_after_llm == pytest.approx(0.05)
    assert timing(None).own_overhead is None  # the bot did not say how long it waited


# ----- draft lag ----------------------------------------------------------------------------


def test_draft_lag_measures_the_oldest_new_text() -> None:
    reply = "one two three four five six"
    chunk_times = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]  # word i written at chunk_times[i]
    drafts = [
        {"text": "", "at": 0.9},  # thinking: no text
        {"text": "one two", "at": 1.15},
        {"text": "one two", "at": 1.16},  # nothing new
        {"text": "one two three four five", "at": 1.45},
        {"text": "something else", "at": 1.46},
        {"text": "one two three four five six", "at": 9.0},  # after the turn's end
    ]
    lags, unplaced = draft_lags(drafts, reply, chunk_times, start=0.5, end=2.0)
    assert unplaced == 1
    assert [round(d.lag, 3) for d in lags] == [0.15, 0.25]  # 1.15 - 1.0; 1.45 - 1.2
    assert [round(d.freshness, 3) for d in lags] == [0.05, 0.05]  # 1.15 - 1.1; 1.45 - 1.4


def test_draft_lag_needs_the_chunk_times() -> None:
    lags, unplaced = draft_lags([{"text": "one two", "at": 2.0}], "one two", [1.0], 0, 3)
    assert (lags, unplaced) == ([], 1)


# ----- scenarios ----------------------------------------------------------------------------


def test_default_scenarios() -> None:
    scenarios = build_scenarios(build_parser().parse_args([]))
    names = [(s.name, s.chats) for s in scenarios]
    assert names == [
        ("streaming", 1),
        ("streaming", 50),
        ("streaming", 200),
        ("capacity", 1),
        ("capacity", 200),
        ("paced", 200),
        ("gpu-stream", 128),
        ("fairness", 120),
    ]
    by_name = {s.name: s for s in scenarios}
    capacity = by_name["capacity"]
    assert capacity.pacer_off
    assert not capacity.enforce_limits
    assert (capacity.ttft_ms, capacity.token_delay_ms, capacity.chunks_per_turn) == (0, 0, 1)
    paced = by_name["paced"]
    turn = 0.3 + 60 * (1 / 30) + 0.2
    assert paced.think_s == pytest.approx(200 / 20 - turn)  # 20 answers/s asked for
    assert paced.ramp_s == pytest.approx(10.0)
    assert paced.enforce_limits
    assert not paced.pacer_off
    gpu = by_name["gpu-stream"]
    assert gpu.token_delay_ms == pytest.approx(20.0)  # 50 tokens/s
    assert gpu.duration == 60
    assert gpu.chunks_per_turn > 500
    assert len(gpu.reply) < 4096  # one message: its drafts show the reply from its start
    fairness = by_name["fairness"]
    assert fairness.chats / (fairness.think_s + 0.2) == pytest.approx(90)  # 3 x 30 a second
    assert not fairness.pacer_off
    assert fairness.enforce_limits
    assert by_name["streaming"].chunks_per_turn == 61


def test_scenario_choice_and_quick() -> None:
    args = build_parser().parse_args(["--scenario", "fairness,capacity", "--quick"])
    scenarios = build_scenarios(args)
    assert [(s.name, s.chats) for s in scenarios] == [
        ("capacity", 1),
        ("capacity", 20),
        ("fairness", 120),
    ]
    assert all((s.duration or 0) <= 4 for s in scenarios)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--scenario", "streaming,nope"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--database-url", "sqlite+aiosqlite:///x.db"])
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
    assert build_parser().parse_args(["--database-url", url]).database_url == url


def test_think_for_rate() -> None:
    assert think_for_rate(200, 20, 2.5) == pytest.approx(7.5)
    assert think_for_rate(10, 20, 2.5) == 0.0


def test_stream_rate() -> None:
    requests: list[dict[str, Any]] = [
        {"outcome": "ok", "chunk_times": [0.0, 0.5, 1.0]},  # 2 a second
        {"outcome": "ok", "chunk_times": [0.0, 0.25, 0.5, 0.75, 1.0]},  # 4 a second
        {"outcome": "ok", "chunk_times": [5.0]},  # one chunk: no rate
        {"outcome": "client_closed", "chunk_times": [0.0, 10.0]},
    ]
    assert stream_rate(requests) == pytest.approx(3.0)
    assert stream_rate([]) is None


def test_streams_active() -> None:
    requests: list[dict[str, Any]] = [
        {"received_mono": 0.0, "finished_at": 10.0},
        {"received_mono": 5.0, "finished_at": None},  # still streaming at the end
        {"received_mono": None},
    ]
    assert streams_active(requests, 0.0, 10.0) == pytest.approx(1.5)
    assert streams_active(requests, 5.0, 5.0) is None


class TelegramWithPacer(BaseModel):
    """A bot's [telegram] section with the pacer settings (and their upper bounds)."""

    draft_interval_seconds: float = 0.4
    global_messages_per_second: int = Field(default=30, ge=1, le=100_000)
    chat_messages_per_second: float = Field(default=1.0, gt=0, le=1000)
    group_messages_per_minute: int = Field(default=20, ge=1, lt=5000)


def test_pacer_off_within_the_bots_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_sections, "TelegramConfig", TelegramWithPacer)
    assert pacer_off_values() == {
        "global_messages_per_second": 100_000,
        "chat_messages_per_second": 1000,
        "group_messages_per_minute": 4999,
    }
    text = pacer_config(pacer_off=True)
    assert "global_messages_per_second = 100000\n" in text
    assert "chat_messages_per_second = 1000\n" in text
    settings = TelegramWithPacer.model_validate(tomllib.loads(text))  # the bot accepts them
    assert settings.group_messages_per_minute == 4999
    assert pacer_config(pacer_off=False) == ""


def test_pacer_left_alone_by_a_bot_without_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    class Telegram(BaseModel):
        draft_interval_seconds: float = 0.4

    monkeypatch.setattr(config_sections, "TelegramConfig", Telegram)
    assert pacer_config(pacer_off=True) == ""  # unknown keys would stop the bot
    assert set(pacer_off_values()) == set(PACER_KEYS)


def test_database_kind() -> None:
    assert database_kind(None) == "sqlite"
    assert database_kind("postgresql+asyncpg://u@h/db") == "postgresql"


# ----- report -------------------------------------------------------------------------------


def result(scenario: str, chats: int, run: int = 1, **changes: Any) -> RunResult:
    def pct(p50: float | None, p95: float | None, p99: float | None) -> dict[str, float | None]:
        return {"p50": p50, "p95": p95, "p99": p99, "max": p99, "n": 10}

    fields: dict[str, Any] = {
        "scenario": scenario,
        "chats": chats,
        "database": "sqlite",
        "turns_ok": 10,
        "turns_failed": 0,
        "overhead_ms": pct(30, 40, 50),
        "own_overhead_ms": pct(5, 8, 9),
        "pacing_wait_ms": pct(25, 32, 41),
        "before_llm_ms": pct(4, 5, 6),
        "after_llm_ms": pct(1, 2, 3),
        "first_text_after_llm_ms": pct(6, 7, 8),
        "e2e_ms": pct(100, 120, 130),
        "llm_ms": pct(70, 80, 80),
        "draft_lag_ms": pct(400, 430, 440),
        "draft_freshness_ms": pct(10, 20, 30),
        "turns_per_s": 12.5,
        "wall_s": 10.0,
        "rss_start_mb": 300.0,
        "peak_rss_mb": 310.0,
        "bot_cpu_s": 1.0,
        "bot_cpu_pct": 10.0,
        "bot_cpu_pct_steady": 12.0,
        "bot_idle_cpu_pct": 0.5,
        "cpu_ms_per_turn": 100.0,
        "bench_cpu_s": 1.0,
        "loop_lag_p99_ms": 7.5,
        "loop_lag_max_ms": 9.0,
        "loop_lag_periods": 4,
        "llm_chunks": 610,
        "llm_chunks_per_s": 30.0,
        "llm_streams_active_avg": 1.0,
        "drafts_unplaced": 0,
        "paced_turns": 10,
        "rejections_429": 0,
        "rejections_by_method": {},
        "bot_calls": {},
        "pacer": "on",
        "settings": {},
        "run": run,
    }
    fields.update(changes)
    return RunResult(**fields)


REQUIRED = {
    "scenario",
    "chats",
    "database",
    "turns_per_s",
    "own_overhead_ms",
    "pacing_wait_ms",
    "first_text_after_ttft_ms",
    "cpu_ms_per_turn",
    "cpu_us_per_chunk",
    "loop_lag_p99_ms",
    "rss_peak_mb",
    "failed_turns",
}


def test_run_object_has_the_required_keys() -> None:
    obj = result("paced", 200).as_json()
    assert set(obj) >= REQUIRED
    for key in ("own_overhead_ms", "pacing_wait_ms", "first_text_after_ttft_ms"):
        assert set(obj[key]) == {"p50", "p95", "p99"}
    assert obj["own_overhead_ms"] == {"p50": 5, "p95": 8, "p99": 9}
    assert obj["pacing_wait_p99_over_p50"] == pytest.approx(41 / 25, abs=0.01)
    unknown = result("paced", 200, pacing_wait_ms={"p50": None, "p95": None, "p99": None})
    assert unknown.as_json()["pacing_wait_ms"] == {"p50": None, "p95": None, "p99": None}
    json.dumps(obj)  # serializable as it is


def test_cpu_per_chunk_pairs_streaming_with_capacity_of_the_same_round() -> None:
    streaming = Scenario("streaming", 1, 2, None, 300, 33, make_reply(60), True, per_chunk="paired")
    capacity = Scenario(
        "capacity", 1, None, 3, 0, 0, make_reply(0), False, pacer_off=True, chunk_chars=4096
    )
    results = {
        0: [result("streaming", 1, run=1, cpu_ms_per_turn=40.0)],
        1: [result("capacity", 1, run=1, cpu_ms_per_turn=10.0)],
    }
    pair_per_chunk([streaming, capacity], results)
    run = results[0][0]
    assert run.cpu_us_per_chunk == pytest.approx(30_000 / 60)  # 30 ms over 60 more chunks
    assert run.cpu_us_per_chunk_method.startswith("paired")
    alone = {0: [result("streaming", 1)]}
    pair_per_chunk([streaming], alone)
    assert alone[0][0].cpu_us_per_chunk is None
    assert "needs a capacity run" in alone[0][0].cpu_us_per_chunk_method


def test_table_targets_and_json() -> None:
    scenarios = build_scenarios(build_parser().parse_args([]))
    results = {
        i: [result(s.name, s.chats, run=r, turns_per_s=float(r)) for r in (1, 2, 3)]
        for i, s in enumerate(scenarios)
    }
    results[0][0].turns_failed = 2
    rows = [(scenarios[i], aggregate(runs)) for i, runs in sorted(results.items())]
    assert rows[0][1]["turns_per_s"] == 2.0  # the median of 1, 2, 3
    assert rows[0][1]["turns_failed"] == 2  # summed
    rendered = table(rows)
    assert rendered.count("\n") == 1 + len(scenarios)
    assert "| streaming | 1 | 10 (2 failed) |" in rendered
    targets = targets_table(rows, "sqlite")
    assert "capacity: turns/s (200 chats" in targets
    assert "| own overhead p95, 200 chats" in targets
    assert "fairness over the global limit (120 chats)" in targets
    assert "1.64 (p50 25 ms, p99 41 ms)" in targets
    assert "| 12 % (1 streams on average) | ≤ 35 % |" in targets
    assert "≤ 450 ms (draft interval 400 ms + 50)" in targets
    assert "first visible text after the LLM's first token, 50 chats: p95 | streaming c=50" in (
        targets
    )
    objects = run_objects(results, {"created": "now"})
    assert len(objects) == 3 * len(scenarios)
    assert [o["run"] for o in objects[: len(scenarios)]] == [1] * len(scenarios)
    assert all(set(o) >= REQUIRED for o in objects)
    json.dumps(objects)
