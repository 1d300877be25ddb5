"""The simulated users: private chats in a closed loop (send, wait for the answer, repeat).

Users talk to the sandbox's control API over one aiohttp session. A user waits for the answer
with ``GET /sandbox/wait`` (held by the sandbox until the chat has one more bot message, so an
idle user costs no CPU) and only polls the transcript while the answer is still being edited.
Timings are not taken here: they come from the sandbox's own time stamps afterwards
(:mod:`bench.metrics`); this module only decides when a turn is over.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from bot.sandbox.telegram.client import SandboxClient, SandboxError

FIRST_USER_ID = 1_000_001
POLL_INTERVAL = 0.1
"""Transcript polling while an answer is visible but not complete (edit-streaming only)."""
STALL_SECONDS = 10.0
"""An incomplete answer that has not changed for this long counts as failed."""

Outcome = Literal["pending", "ok", "failed", "timeout", "error", "cancelled"]
AnswerState = Literal["missing", "partial", "complete", "wrong"]
_TAG = re.compile(r"\[bench (u\d+t\d+)\]")


def normalize(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Expectation:
    """The scripted reply: its first word marks answer text, its last words a complete one."""

    reply: str

    @property
    def start(self) -> str:
        return normalize(self.reply).split(" ")[0].rstrip(".,:;!?")

    @property
    def end(self) -> str:
        return " ".join(normalize(self.reply).split(" ")[-4:])

    def has_text(self, text: str | None) -> bool:
        """Visible answer text (not a placeholder): contains the reply's first word."""
        return bool(text) and self.start in normalize(text or "")

    def is_complete(self, text: str | None) -> bool:
        return bool(text) and self.end in normalize(text or "")


def question(tag: str) -> str:
    # A plain chat question: the router decides it locally, so no judge call is measured.
    return f"[bench {tag}] Why is the sky blue? Please explain in simple words."


def tag_of(text: str) -> str | None:
    match = _TAG.search(text)
    return match.group(1) if match else None


def tags_of(text: str) -> list[str]:
    """Every tag in the text (an answer to several questions taken together names each)."""
    return _TAG.findall(text)


def turn_messages(messages: Sequence[dict[str, Any]], user_message_id: int) -> list[dict[str, Any]]:
    """The bot's (non-deleted) messages answering one user message, oldest first.

    The bot replies to the user's message; messages that reply to nothing and came after it,
    before the user's next message, (e.g. later parts of a split answer) belong to the turn.
    """
    upper = min(
        (
            m["message_id"]
            for m in messages
            if not m.get("from_bot") and m["message_id"] > user_message_id
        ),
        default=None,
    )
    bot = [
        m
        for m in messages
        if m.get("from_bot") and not m.get("deleted") and (upper is None or m["message_id"] < upper)
    ]
    replies = [m for m in bot if m.get("reply_to_message_id") == user_message_id]
    first = replies[0]["message_id"] if replies else user_message_id
    return [
        m
        for m in bot
        if m["message_id"] >= first and m.get("reply_to_message_id") in (user_message_id, None)
    ]


def answer_state(
    messages: Sequence[dict[str, Any]], user_message_id: int, expect: Expectation
) -> tuple[AnswerState, str]:
    answer = turn_messages(messages, user_message_id)
    if not answer:
        return "missing", ""
    text = normalize(" ".join(m.get("text") or "" for m in answer))
    if expect.is_complete(text):
        return "complete", text
    if expect.has_text(text):
        return "partial", text
    return "wrong", text


@dataclass
class TurnRecord:
    chat_id: int
    index: int
    tag: str
    sent_at: float
    user_message_id: int | None = None
    outcome: Outcome = "pending"
    detail: str = ""


@dataclass(frozen=True)
class LoadPlan:
    chats: int
    turns: int | None
    """Turns per chat (None: no limit)."""
    duration: float | None
    """No turn starts later than this many seconds after the ramp (None: no limit)."""
    think_s: float
    ramp_s: float
    turn_timeout: float
    expect: Expectation


@dataclass
class LoadRun:
    client: SandboxClient
    plan: LoadPlan
    records: list[TurnRecord] = field(default_factory=list)
    started_at: float = 0.0
    stop_at: float | None = None
    _tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)

    @staticmethod
    def chat_id(user: int) -> int:
        return FIRST_USER_ID + user

    async def run(self) -> list[TurnRecord]:
        """Run every user to the end; on cancellation, unfinished turns are 'cancelled'."""
        self.started_at = time.monotonic()
        if self.plan.duration is not None:
            self.stop_at = self.started_at + self.plan.ramp_s + self.plan.duration
        users = [
            asyncio.create_task(self._user(n), name=f"bench-user-{n}")
            for n in range(self.plan.chats)
        ]
        self._tasks = {self.chat_id(n): task for n, task in enumerate(users)}
        try:
            # return_exceptions: a user cancelled by give_up() must not end the others.
            for result in await asyncio.gather(*users, return_exceptions=True):
                if isinstance(result, Exception):
                    raise result
        finally:
            for task in users:
                task.cancel()
            await asyncio.gather(*users, return_exceptions=True)
            for record in self.records:
                if record.outcome == "pending":
                    record.outcome = "cancelled"
        return self.records

    def pending(self) -> list[TurnRecord]:
        return [r for r in self.records if r.outcome == "pending"]

    def give_up(self, record: TurnRecord, reason: str) -> None:
        """Count a turn as lost now and stop its user (no more turns in that chat)."""
        if record.outcome != "pending":
            return
        record.outcome, record.detail = "timeout", reason
        task = self._tasks.get(record.chat_id)
        if task is not None:
            task.cancel()

    async def _user(self, user: int) -> None:
        chat_id = self.chat_id(user)
        await asyncio.sleep(self.plan.ramp_s * user / max(1, self.plan.chats))
        bot_seen = 0
        index = 0
        while self.plan.turns is None or index < self.plan.turns:
            if self.stop_at is not None and time.monotonic() >= self.stop_at:
                return
            tag = f"u{user}t{index}"
            record = TurnRecord(chat_id, index, tag, time.monotonic())
            self.records.append(record)
            try:
                message = await self.client.send(chat_id, question(tag), first_name=f"User{user}")
                record.user_message_id = int(message["message_id"])
                bot_seen = await self._await_answer(record, bot_seen)
            except TimeoutError as exc:
                record.outcome, record.detail = "timeout", str(exc).split("\n", 1)[0]
            except (SandboxError, aiohttp.ClientError) as exc:
                record.outcome, record.detail = "error", repr(exc)
            if record.outcome in ("timeout", "error"):
                # The bot lost this turn (or the chat is stuck): the user gives up, so that one
                # lost turn does not stretch the run with this chat's remaining turns alone.
                return
            index += 1
            if self.plan.think_s > 0:
                await asyncio.sleep(self.plan.think_s)

    async def _await_answer(self, record: TurnRecord, bot_seen: int) -> int:
        """Wait until the turn's answer is complete; returns the chat's bot message count."""
        assert record.user_message_id is not None
        deadline = time.monotonic() + self.plan.turn_timeout
        messages = await self.client.wait_bot_messages(
            record.chat_id, bot_seen + 1, timeout=self.plan.turn_timeout
        )
        last_text, changed_at = "", time.monotonic()
        while True:
            state, text = answer_state(messages, record.user_message_id, self.plan.expect)
            now = time.monotonic()
            if state == "complete":
                record.outcome = "ok"
                return len(messages)
            if state == "wrong":
                record.outcome, record.detail = "failed", f"unexpected answer: {text[:200]!r}"
                return len(messages)
            if text != last_text:
                last_text, changed_at = text, now
            if now - changed_at > STALL_SECONDS and state == "partial":
                record.outcome, record.detail = "failed", f"answer stopped at: {text[-200:]!r}"
                return len(messages)
            if now > deadline:
                raise TimeoutError(f"no complete answer after {self.plan.turn_timeout:.0f} s")
            await asyncio.sleep(POLL_INTERVAL)
            messages = await self.client.bot_messages(record.chat_id)
