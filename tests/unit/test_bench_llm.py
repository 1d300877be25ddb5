"""The scripted LLM's per-chunk time stamps, which the benchmark's draft lag is measured from."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

import aiohttp

from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.llm.server import CHUNK_TIMES_LIMIT


async def _stream(llm: ScriptedLLM) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": "Bearer k"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{llm.base_url}/v1/chat/completions", json=body, headers=headers) as resp,
    ):
        assert resp.status == 200
        await resp.read()


async def test_request_log_has_one_time_per_chunk() -> None:
    llm = ScriptedLLM()
    await llm.start()
    try:
        llm.set_knobs(token_delay_ms=5)
        llm.script("one two three four")
        await _stream(llm)
        (record,) = llm.requests
    finally:
        await llm.stop()
    times = record["chunk_times"]
    assert len(times) == 4  # word chunks
    assert times == sorted(times)
    assert times[0] == record["first_content_at"]
    assert record["received_mono"] <= times[0]
    assert times[-1] <= record["finished_at"]
    assert times[-1] - times[0] >= 3 * 0.005
    assert CHUNK_TIMES_LIMIT >= 1000  # long benchmark answers keep every chunk's time


async def test_request_log_snapshots_do_not_change() -> None:
    llm = ScriptedLLM()
    await llm.start()
    try:
        llm.script("a b", times=0)
        await _stream(llm)
        snapshot = llm.requests[0]
        snapshot["chunk_times"].append(0.0)
        assert len(llm.requests[0]["chunk_times"]) == 2
    finally:
        await llm.stop()


async def test_stream_keeps_its_rate() -> None:
    llm = ScriptedLLM()
    await llm.start()
    try:
        llm.set_knobs(token_delay_ms=20)
        llm.script(" ".join(["word"] * 26))
        await _stream(llm)
        times = llm.requests[0]["chunk_times"]
    finally:
        await llm.stop()
    assert len(times) == 26
    # On a schedule from the first chunk: 25 delays of 20 ms, not 25 x (20 ms + the work).
    assert 0.5 <= times[-1] - times[0] < 0.56
    assert all(b - a >= 0 for a, b in itertools.pairwise(times))


async def test_stopping_ends_a_paused_stream_at_once() -> None:
    llm = ScriptedLLM()
    await llm.start()
    llm.set_knobs(ttft_ms=30_000)
    llm.script("never sent")
    task = asyncio.create_task(_stream(llm))
    while not llm.requests:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await llm.stop()
    with contextlib.suppress(aiohttp.ClientError, AssertionError):
        await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 3
    assert llm.requests[0]["outcome"] == "server_stopped"
    assert llm.requests[0]["chunk_times"] == []
