"""``python -m bench.streams``: CPU per streamed chunk of the providers' stream parsing.

Replay (the default): SSE bodies rendered by the sandbox's OpenAI and Anthropic dialects
(``--chunks`` text chunks, then two tool calls streamed in fragments, usage and finish) are read
from an in-memory ``httpx2.Response``, one network read per event, ``--runs`` times, through:

- ``sdk``: the SDK's own stream (``AsyncStream``: a pydantic object per chunk) and the attribute
  reads of the providers before streams were parsed by the bot (bench/sdk_streams.py);
- ``lean``: the providers' parsers (``bot.llm.sse`` and orjson, ``read_events``).

Both produce the same events (checked). CPU is ``time.process_time``; per chunk = per SSE event.

``--loopback``: the whole client side instead: a provider's ``stream()`` against the scripted LLM
server in a child process, ``--requests`` answers of ``--chunks`` chunks, 8 at a time; the CPU of
this process only (the SDK, httpx2, the parsing, asyncio). It uses no API the providers had not
before this change, so the same command run in a checkout of an older commit measures that one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from bot.llm.base import ProviderClient
from bot.llm.providers.anthropic import AnthropicClient
from bot.llm.providers.openai_compat import OpenAICompatibleClient
from bot.llm.spec import ModelCapabilities, ModelSpec
from bot.llm.types import ChatRequest, TextDelta, Turn
from bot.sandbox.llm import ScriptedLLM
from bot.sandbox.llm.plan import ParsedRequest, build_plan
from bot.sandbox.llm.script import Knobs, ReplyEntry, ToolCall
from bot.sandbox.llm.server import ANTHROPIC, OPENAI

PROTOCOLS = ("openai", "anthropic")
WORD = "token "
CAPS = ModelCapabilities(False, True, True, False, 10**6, 10**6)
SPEC = ModelSpec("bench", "Bench", "p", "bench-model", CAPS)
REQUEST = ChatRequest((Turn.text("user", "hi"),))


def recorded_body(protocol: str, chunks: int) -> list[bytes]:
    """One stream as the sandbox renders it: each SSE event is one network read."""
    calls = (
        ToolCall("web_search", json.dumps({"query": "otters " * 8}), "call_a"),
        ToolCall("fetch_url", json.dumps({"url": "https://example.org/" + "x" * 40}), "call_b"),
    )
    entry = ReplyEntry(chunks=(WORD,) * chunks, text=WORD * chunks, tool_calls=calls)
    request = ParsedRequest("bench-model", True, "hi", 10, None, include_usage=True)
    plan = build_plan(entry, request, Knobs())
    dialect = OPENAI if protocol == "openai" else ANTHROPIC
    script = dialect.stream(plan, request, 1, int(time.time()))
    return [event.encode() for event in (*script.head, *script.body)]


def _best_cpu(read: Callable[[], AsyncIterator[Any]], repeats: int) -> tuple[float, list[Any]]:
    """The least CPU seconds of `repeats` reads (the others lost time to the machine's other
    work), and the events of the last."""
    events: list[Any] = []

    async def all_reads() -> float:
        nonlocal events
        best = float("inf")
        for _ in range(repeats):
            started = time.process_time()
            events = [event async for event in read()]
            best = min(best, time.process_time() - started)
        return best

    return asyncio.run(all_reads()), events


def _parser_cpu(protocol: str, body: list[bytes], repeats: int) -> float:
    """The least CPU seconds of the parser alone over the body's reads (no I/O, no asyncio)."""
    from bot.llm.providers.anthropic_stream import AnthropicStreamParser
    from bot.llm.providers.openai_stream import OpenAIStreamParser

    best = float("inf")
    for _ in range(repeats):
        parser = OpenAIStreamParser() if protocol == "openai" else AnthropicStreamParser()
        started = time.process_time()
        for read in body:
            for _event in parser.feed(read):
                pass
        parser.finish()
        best = min(best, time.process_time() - started)
    return best


def run_replay(args: argparse.Namespace) -> int:
    print(f"Replay: {args.chunks} text chunks + 2 tool calls per body; CPU µs per SSE event,")
    print(f"the best of {args.runs} reads. floor: the in-memory httpx2 response read alone")
    print("| protocol | events | floor | sdk | lean | sdk - floor | lean - floor | parser alone |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for protocol in PROTOCOLS:
        row = _replay_row(protocol, recorded_body(protocol, args.chunks), args.runs)
        if row is None:
            print(f"{protocol}: the two paths disagree", file=sys.stderr)
            return 1
        print(row)
    return 0


def _replay_row(protocol: str, body: list[bytes], runs: int) -> str | None:
    from bench.sdk_streams import floor_reads, lean_events, sdk_events  # httpx2, SDK internals

    floor, _ = _best_cpu(lambda: floor_reads(body), runs)
    sdk, sdk_out = _best_cpu(lambda: sdk_events(protocol, body), runs)
    lean, lean_out = _best_cpu(lambda: lean_events(protocol, body), runs)
    if sdk_out != lean_out:
        return None
    alone = _parser_cpu(protocol, body, runs)
    us = [value * 1e6 / len(body) for value in (floor, sdk, lean, sdk - floor, lean - floor)]
    cells = " | ".join(f"{value:.1f}" for value in [*us, alone * 1e6 / len(body)])
    return f"| {protocol} | {len(body)} | {cells} |"


async def _serve(chunks: int) -> None:
    server = ScriptedLLM()
    server.script(chunks=[WORD] * chunks, times=0)
    url = await server.start()
    print(url, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    await server.stop()


def _client(protocol: str, url: str) -> ProviderClient:
    if protocol == "openai":
        return OpenAICompatibleClient(
            base_url=f"{url}/v1", api_key="k", connect_timeout=5, read_timeout=30
        )
    return AnthropicClient(base_url=url, api_key="k", connect_timeout=5, read_timeout=30)


async def _stream_all(client: ProviderClient, requests: int) -> int:
    """Stream `requests` answers, 8 at a time; the number of text deltas received."""
    gate = asyncio.Semaphore(8)

    async def one() -> int:
        async with gate:
            return sum([1 async for e in client.stream(SPEC, REQUEST) if isinstance(e, TextDelta)])

    counts = await asyncio.gather(*(one() for _ in range(requests)))
    await client.close()
    return sum(counts)


def run_loopback(args: argparse.Namespace) -> int:
    command = [sys.executable, "-m", "bench.streams", "--serve", "--chunks", str(args.chunks)]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        print(f"Loopback: {args.requests} answers of {args.chunks} chunks, 8 at a time")
        print("| protocol | text deltas | client CPU µs/chunk | wall s |")
        print("| --- | --- | --- | --- |")
        for protocol in PROTOCOLS:
            _timed(protocol, url, 8)  # warm up
            (cpu, wall), deltas = _timed(protocol, url, args.requests)
            print(f"| {protocol} | {deltas} | {cpu * 1e6 / deltas:.1f} | {wall:.2f} |")
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    return 0


def _timed(protocol: str, url: str, requests: int) -> tuple[tuple[float, float], int]:
    """(CPU, wall) seconds of streaming `requests` answers, and the text deltas received."""
    cpu, wall = time.process_time(), time.monotonic()
    deltas = asyncio.run(_stream_all(_client(protocol, url), requests))
    return (time.process_time() - cpu, time.monotonic() - wall), deltas


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__)
    parser.add_argument("--chunks", type=int, default=2000, help="text chunks per answer")
    parser.add_argument("--runs", type=int, default=20, help="replays of each body")
    parser.add_argument("--loopback", action="store_true", help="provider over loopback")
    parser.add_argument("--requests", type=int, default=40, help="answers (--loopback)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if min(args.chunks, args.runs, args.requests) < 1:
        print("--chunks, --runs and --requests must be positive", file=sys.stderr)
        return 2
    if args.serve:
        asyncio.run(_serve(args.chunks))
        return 0
    return run_loopback(args) if args.loopback else run_replay(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
