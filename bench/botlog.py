"""What the benchmark reads from the bot's own log: pacing waits and event-loop lag.

Two INFO lines of the bot carry numbers that no server time stamp can show:

* ``bot.chat.answering``, once per delivered answer::

      answer delivered: chat=<chat_id> answer=<answer_id> parts=<n> paced_ms=<float>

  ``paced_ms`` is how long that answer's final messages waited in the bot's pacer for
  Telegram's limits. The line names the chat, not the turn: a chat's turns are sequential,
  so its n-th line belongs to its n-th answered turn (:func:`pair_paced`).

* ``bot.looplag``, every ``BOT_LOOP_LAG_SECONDS``::

      event loop lag: p50=<x> ms p99=<y> ms max=<z> ms (<n> samples)

A bot that does not log these lines (an older version, or a log level above INFO) leaves the
numbers unknown (None), never zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_DELIVERED = re.compile(
    rf"bot\.chat\.answering: answer delivered: chat=(-?\d+) answer=(\S+) parts=(\d+) "
    rf"paced_ms=({_NUMBER})"
)
_LOOP_LAG = re.compile(
    rf"bot\.looplag: event loop lag: p50=({_NUMBER}) ms p99=({_NUMBER}) ms "
    rf"max=({_NUMBER}) ms \((\d+) samples?\)"
)


@dataclass(frozen=True)
class Delivered:
    """One ``answer delivered`` line."""

    chat_id: int
    answer: str
    parts: int
    paced_ms: float


@dataclass(frozen=True)
class LagPeriod:
    """One ``event loop lag`` line: the lag of the loop's timer over one period."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int


def parse_delivered(log: str) -> list[Delivered]:
    """Every ``answer delivered`` line of the log, in log order."""
    return [
        Delivered(int(m[1]), m[2], int(m[3]), float(m[4]))
        for line in log.splitlines()
        if (m := _DELIVERED.search(line)) is not None
    ]


def parse_loop_lag(log: str) -> list[LagPeriod]:
    """Every ``event loop lag`` line of the log, in log order."""
    return [
        LagPeriod(float(m[1]), float(m[2]), float(m[3]), int(m[4]))
        for line in log.splitlines()
        if (m := _LOOP_LAG.search(line)) is not None
    ]


def window_text(log: bytes, start: int, end: int) -> str:
    """The complete lines written between two byte offsets of a growing log file.

    A line cut by ``start`` (being written when the offset was taken) belongs to the time
    before the window and is dropped; so is a line not yet finished at ``end``.
    """
    end = min(end, len(log))
    if start > 0 and log[start - 1 : start] != b"\n":
        newline = log.find(b"\n", start, end)
        start = end if newline < 0 else newline + 1
    chunk = log[start:end]
    cut = chunk.rfind(b"\n")
    return chunk[: cut + 1].decode("utf-8", errors="replace") if cut >= 0 else ""


@dataclass(frozen=True)
class LoopLag:
    """Event-loop lag over a load phase: the largest per-period p99 and max."""

    p99_ms: float
    max_ms: float
    periods: int


def loop_lag(periods: Sequence[LagPeriod]) -> LoopLag | None:
    """The lag over the periods reported inside a load window.

    The first period reported after the load started also covers time before it (the bot's
    timer does not start with the load), so it is left out when later periods exist. The
    result is the maximum of the remaining periods' p99 (and max): the worst stretch of the
    load, which a mean over periods would hide.
    """
    used = list(periods[1:] if len(periods) > 1 else periods)
    used = [p for p in used if p.samples > 0]
    if not used:
        return None
    return LoopLag(
        p99_ms=max(p.p99_ms for p in used),
        max_ms=max(p.max_ms for p in used),
        periods=len(used),
    )


class TurnLike(Protocol):
    @property
    def chat_id(self) -> int: ...
    @property
    def index(self) -> int: ...
    @property
    def tag(self) -> str: ...
    @property
    def outcome(self) -> str: ...


@dataclass(frozen=True)
class Pairing:
    """``paced_ms`` of each turn (by tag), and the chats whose lines could not be matched."""

    paced_ms: dict[str, float]
    unmatched_chats: list[int]


def pair_paced(turns: Iterable[TurnLike], delivered: Iterable[Delivered]) -> Pairing:
    """Give each answered turn the ``paced_ms`` of its chat's matching ``answer delivered``.

    Per chat, the lines (in log order) are matched to the turns (in turn order): to the
    answered turns when there are as many lines as answered turns, else to all of the chat's
    turns when there are as many lines as turns (a turn the benchmark counted as failed may
    still have been delivered late). Any other count makes the order ambiguous: that chat's
    turns get no pacing wait and the chat is listed in ``unmatched_chats``.
    """
    by_chat: dict[int, list[TurnLike]] = {}
    for turn in turns:
        by_chat.setdefault(turn.chat_id, []).append(turn)
    lines: dict[int, list[Delivered]] = {}
    for line in delivered:
        lines.setdefault(line.chat_id, []).append(line)
    paced: dict[str, float] = {}
    unmatched: list[int] = []
    for chat_id, chat_turns in sorted(by_chat.items()):
        ordered = sorted(chat_turns, key=lambda t: t.index)
        answered = [t for t in ordered if t.outcome == "ok"]
        found = lines.get(chat_id, [])
        if len(found) == len(answered):
            matched = list(zip(answered, found, strict=True))
        elif len(found) == len(ordered):
            matched = list(zip(ordered, found, strict=True))
        else:
            if answered:
                unmatched.append(chat_id)
            continue
        paced.update({turn.tag: line.paced_ms for turn, line in matched if turn.outcome == "ok"})
    return Pairing(paced, unmatched)
