"""``python -m bench moderation``: in a filtered group, is it better for users to stream the
answer hidden ("✍️ Writing… (N words)", the text once the whole answer passed the filter) or
to check it sentence by sentence and show each sentence that passed?

A deterministic simulation with the real local classifier (the shipped topics) and the bot's
own pacing: the model writes `--words-per-second`, the group placeholder is edited every
`--edit-interval` seconds, the judge takes `--judge-seconds` and is assumed always right (which
favours the sentence mode, where it is asked far more often). Answers are built from the
labelled set's sentences: clean ones, and flagged ones where a kept-out sentence follows a
clean opening (how such answers usually go).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.config_sections import SHIPPED_ROUTES_DIR
from bot.moderation.classifier import TopicClassifier
from bot.moderation.config import ModerationConfig
from bot.moderation.setup import prepare

TTFT = 0.8  # seconds to the first token


@dataclass(frozen=True)
class Answer:
    sentences: list[str]
    flagged: set[int]  # indexes of kept-out sentences

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def sentences_of(path: Path) -> tuple[list[str], list[str]]:
    clean: list[str] = []
    flagged: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = row["text"]
        if not re.search(r"[.!?]$", text) or len(text) > 300:
            continue  # answer-like single sentences only
        (flagged if row["label"] == "block" else clean).append(text)
    return clean, flagged


def answers(clean: list[str], flagged: list[str], count: int, seed: int = 1) -> list[Answer]:
    rng = random.Random(seed)
    made = []
    for index in range(count):
        body = rng.sample(clean, 9)
        if index % 2:
            made.append(Answer([*body[:3], rng.choice(flagged), *body[3:8]], {3}))
        else:
            made.append(Answer(body, set()))
    return made


def _words_until(answer: Answer, sentence: int) -> int:
    return sum(len(s.split()) for s in answer.sentences[: sentence + 1])


def _decide(classifier: TopicClassifier, text: str, truth: bool) -> tuple[bool, bool]:
    """(blocked, judged) with an oracle judge for the uncertain band."""
    score = classifier.score(text).flagged
    thresholds = classifier.thresholds
    if score < thresholds.allow_below:
        return False, False
    if score >= thresholds.block_from:
        return True, False
    return truth, True


def simulate(
    classifier: TopicClassifier, answer: Answer, args: argparse.Namespace
) -> dict[str, float]:
    speed, tick, judge = args.words_per_second, args.edit_interval, args.judge_seconds
    done = TTFT + _words_until(answer, len(answer.sentences) - 1) / speed
    # Hidden: the whole answer is checked once, at the end.
    blocked, judged = _decide(classifier, answer.text, bool(answer.flagged))
    hidden_shown = done + (judge if judged else 0.0)
    # Sentence by sentence: each finished sentence is checked, shown at the next edit.
    first_shown = None
    exposed = vanished = False
    judge_calls = 0
    shown_any = stopped = False
    for index, sentence in enumerate(answer.sentences):
        finished = TTFT + _words_until(answer, index) / speed
        stop, asked = _decide(classifier, sentence, index in answer.flagged)
        judge_calls += asked
        if stop:
            vanished, stopped = shown_any, True
            break
        exposed |= index in answer.flagged  # a kept-out sentence that the check let through
        visible = (int((finished + (judge if asked else 0.0)) / tick) + 1) * tick
        first_shown = visible if first_shown is None else first_shown
        shown_any = True
    return {
        "hidden_first_text": hidden_shown,
        "hidden_blocked": float(blocked),
        "hidden_judge_calls": float(judged),
        "sentence_first_text": first_shown if first_shown is not None else done,
        "sentence_exposed": float(exposed),
        "sentence_vanished": float(vanished),
        "sentence_blocked": float(stopped),
        "sentence_judge_calls": float(judge_calls),
        "done": done,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench moderation")
    parser.add_argument("--data", type=Path, default=Path("tests/data/moderation_eval.jsonl"))
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--words-per-second", type=float, default=20.0)
    parser.add_argument("--edit-interval", type=float, default=3.0)
    parser.add_argument("--judge-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    _, classifier = prepare(ModerationConfig(), SHIPPED_ROUTES_DIR)
    made = answers(*sentences_of(args.data), args.answers)
    runs = [(a, simulate(classifier, a, args)) for a in made]
    clean = [r for a, r in runs if not a.flagged]
    flagged = [r for a, r in runs if a.flagged]

    def mean(rows: list[dict[str, float]], key: str) -> float:
        return statistics.fmean(r[key] for r in rows)

    lines = [
        f"answers: {len(clean)} clean, {len(flagged)} with a kept-out sentence after a clean "
        "opening",
        f"{'':34}{'hidden':>10}{'sentence':>10}",
        f"{'clean: first text after (s)':34}{mean(clean, 'hidden_first_text'):>10.2f}"
        f"{mean(clean, 'sentence_first_text'):>10.2f}",
        f"{'clean: wrongly blocked':34}{mean(clean, 'hidden_blocked'):>10.1%}"
        f"{mean(clean, 'sentence_blocked'):>10.1%}",
        f"{'flagged: kept-out text shown':34}{0.0:>10.1%}"
        f"{mean(flagged, 'sentence_exposed'):>10.1%}",
        f"{'flagged: text shown, then removed':34}{0.0:>10.1%}"
        f"{mean(flagged, 'sentence_vanished'):>10.1%}",
        f"{'flagged: blocked in the end':34}{mean(flagged, 'hidden_blocked'):>10.1%}"
        f"{mean(flagged, 'sentence_blocked'):>10.1%}",
        f"{'judge calls per answer':34}{mean(clean + flagged, 'hidden_judge_calls'):>10.2f}"
        f"{mean(clean + flagged, 'sentence_judge_calls'):>10.2f}",
        f"(model {args.words_per_second:g} words/s; answers take {mean(clean, 'done'):.1f} s on "
        f"average; edits every {args.edit_interval:g} s; judge {args.judge_seconds:g} s)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
