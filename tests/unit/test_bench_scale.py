"""The scale benchmark's counting: ordering violations, duplicated answers, recovery times and
the order of several processes' log lines, from transcripts and logs made up here."""

from __future__ import annotations

from typing import Any

from bench.botlog import Delivered
from bench.load import TurnRecord, question
from bench.report import scale_goals
from bench.scale import Kill, delivered_lines, read_transcript, recovery
from bench.scenarios import Scenario

CHAT = 1_000_001


def user(message_id: int, tag: str, at: float) -> dict[str, Any]:
    return {"message_id": message_id, "from_bot": False, "text": question(tag), "at": at}


def bot(message_id: int, tag: str, at: float, deleted: bool = False) -> dict[str, Any]:
    text = f'This is the sandbox model "bench-model". You wrote: {question(tag)}'
    return {"message_id": message_id, "from_bot": True, "text": text, "at": at, "deleted": deleted}


def test_answers_in_order_once_are_neither_violations_nor_duplicates() -> None:
    shown = read_transcript(
        [user(1, "u0t0", 1.0), user(2, "u0t1", 1.1), bot(3, "u0t0", 2.0), bot(4, "u0t1", 3.0)],
        [{"at": 1.5, "text": "This is the sandbox model … [bench u0t0]"}],
    )
    assert (shown.ordering_violations, shown.duplicates, shown.bot_messages) == (0, 0, 2)
    assert shown.final_at == {"u0t0": 2.0, "u0t1": 3.0}
    assert shown.first_text_at == {"u0t0": 1.5, "u0t1": 3.0}  # the draft came first
    assert shown.user_at == {1: 1.0, 2: 1.1}


def test_an_answer_after_a_later_questions_answer_is_a_violation_and_a_copy_a_duplicate() -> None:
    shown = read_transcript(
        [
            user(1, "u0t0", 1.0),
            user(2, "u0t1", 1.1),
            user(3, "u0t2", 1.2),
            bot(5, "u0t1", 2.0),
            bot(4, "u0t2", 1.9),  # ids, not times, give the order in the chat
            bot(6, "u0t0", 2.1),
            bot(7, "u0t1", 2.2),  # again
            bot(8, "u0t0", 2.3, deleted=True),  # deleted: not shown
        ],
        [],
    )
    assert shown.ordering_violations == 2  # t1 after t2, t0 after both
    assert shown.duplicates == 1
    assert shown.final_at["u0t1"] == 2.0


def test_recovery_counts_from_the_last_kill_that_cut_the_question_off() -> None:
    asked = TurnRecord(CHAT, 0, "u0t0", 0.0, user_message_id=1)
    later = TurnRecord(CHAT, 1, "u0t1", 0.0, user_message_id=2)  # asked after both kills
    shown = read_transcript(
        [user(1, "u0t0", 1.0), user(2, "u0t1", 30.0), bot(3, "u0t0", 25.0), bot(4, "u0t1", 31.0)],
        [],
    )
    partition = CHAT % 16
    kills = [Kill(5.0, "run1", (partition,)), Kill(15.0, "run2", (partition, 3))]
    longest, affected = recovery(kills, [asked, later], {CHAT: shown}, 16)
    assert (longest, affected) == (10.0, 1)
    elsewhere = [Kill(5.0, "run1", ((partition + 1) % 16,))]
    assert recovery(elsewhere, [asked], {CHAT: shown}, 16) == (None, 0)
    unanswered = read_transcript([user(1, "u0t0", 1.0)], [])
    assert recovery(kills, [asked], {CHAT: unanswered}, 16) == (None, 1)


def test_delivered_lines_of_several_processes_come_in_the_order_they_were_logged() -> None:
    def line(stamp: str, answer: int) -> str:
        return (
            f"2026-12-07 06:00:{stamp} INFO bot.chat.answering: answer delivered: "
            f"chat={CHAT} answer={answer} parts=1 paced_ms={answer}.0"
        )

    first = "\n".join([line("01,100", 1), line("03,000", 3)])
    second = "\n".join([line("02,500", 2), "2026-12-07 06:00:04,000 INFO other: noise"])
    assert delivered_lines([first, second]) == [
        Delivered(CHAT, str(n), 1, float(n)) for n in (1, 2, 3)
    ]


def test_one_answer_to_two_questions_taken_together_answers_both() -> None:
    """The first question was given up (an honest notice) and the model read it again with
    the next one: the answer names both."""
    both = bot(5, "u0t1", 3.0)
    both["text"] += f" {question('u0t2')}"
    notice = {"message_id": 4, "from_bot": True, "text": "⚠️ I restarted and could not…", "at": 2.0}
    shown = read_transcript([user(1, "u0t1", 1.0), user(2, "u0t2", 1.1), notice, both], [])
    assert shown.final_at == {"u0t1": 3.0, "u0t2": 3.0}
    assert (shown.ordering_violations, shown.duplicates, shown.bot_messages) == (0, 0, 2)


def _scale_row(workers: int, chaos: bool, **agg: Any) -> tuple[Scenario, dict[str, Any]]:
    scenario = Scenario(
        "scale", 100, None, 20.0, 0.0, 0.0, "ok", False, workers=workers,
        chaos_every_s=10.0 if chaos else 0.0,
    )  # fmt: skip
    counts = {"ordering_violations": 0, "lost_turns": 0, "duplicated_answers": 0}
    return scenario, {"turns_per_s": None, "max_recovery_s": None, **counts, **agg}


def test_the_scale_goals_say_which_are_met() -> None:
    rows = [
        _scale_row(1, False, turns_per_s=40.0),
        _scale_row(2, False, turns_per_s=60.0),
        _scale_row(2, True, max_recovery_s=14.2),
        _scale_row(2, True, duplicated_answers=1, max_recovery_s=16.0),
    ]
    assert scale_goals(rows, lease_seconds=10).splitlines() == [
        "- capacity (polling), 2 workers over 1: 1.50x (goal ≥ 1.7x: not met)",
        "- chaos (polling, 2 workers, 100 chats): 0 out of order, 0 lost, 0 duplicated "
        "(goal 0: met); longest recovery 14.2 s (goal ≤ 15 s: met)",
        "- chaos (polling, 2 workers, 100 chats): 0 out of order, 0 lost, 1 duplicated "
        "(goal 0: not met); longest recovery 16.0 s (goal ≤ 15 s: not met)",
    ]
