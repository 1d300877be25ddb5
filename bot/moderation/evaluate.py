"""`python -m bot moderation eval`: precision, recall and latency of the filter on a labelled
set (JSONL lines `{"text", "label"}`, label "block" or "allow"; optional "lang", "topic")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.moderation.service import Decision, Moderator, Stage
from bot.textclass.evaluation import (
    EvalDataError,
    gather_limited,
    guess_language,
    percentiles,
    read_rows,
    share,
)

LABELS = {"block": True, "allow": False}


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    blocked: bool
    language: str


def read_examples(path: Path) -> list[Example]:
    examples: list[Example] = []
    for number, row in read_rows(path, ("text", "label")):
        text, label = row["text"], row["label"]
        if not isinstance(text, str) or not isinstance(label, str) or label not in LABELS:
            raise EvalDataError(f'{path}:{number}: "text" is a string, "label" block or allow')
        examples.append(Example(text, LABELS[label], str(row.get("lang") or guess_language(text))))
    return examples


async def decide_all(
    moderator: Moderator, examples: Sequence[Example], *, use_judge: bool
) -> list[Decision]:
    if not use_judge:  # one at a time: the latencies are the local stage's own
        return [await moderator.decide(e.text, use_judge=False) for e in examples]
    return await gather_limited(examples, lambda e: moderator.decide(e.text, use_judge=True))


def report(examples: Sequence[Example], decisions: Sequence[Decision]) -> dict[str, Any]:
    pairs = list(zip(examples, decisions, strict=True))
    by_language: dict[str, list[tuple[Example, Decision]]] = {}
    for pair in pairs:
        by_language.setdefault(pair[0].language, []).append(pair)
    stages = Counter(_stage(d) for d in decisions)
    band = [(e, d) for e, d in pairs if d.stage != Stage.LOCAL]
    local_blocks = [e.blocked for e, d in pairs if d.stage == Stage.LOCAL and d.blocked]
    local_passes = [e.blocked for e, d in pairs if d.stage == Stage.LOCAL and not d.blocked]
    return {
        **_scores(pairs),
        "per_language": {lang: _scores(items) for lang, items in sorted(by_language.items())},
        "stages": {k: share(v, len(pairs)) for k, v in sorted(stages.items())},
        "judge_share": share(len(band), len(pairs)),
        "band": {
            "blocked_in_truth": sum(e.blocked for e, _ in band),
            "clean_in_truth": sum(not e.blocked for e, _ in band),
        },
        "local_block_precision": share(sum(local_blocks), len(local_blocks)),
        "local_pass_misses": share(sum(local_passes), len(local_passes)),
        "judge_failures": dict(Counter(d.judge_failure for d in decisions if d.judge_failure)),
        "local_latency_ms": percentiles([d.local_seconds * 1000 for d in decisions]),
        "latency_ms": percentiles([d.seconds * 1000 for d in decisions]),
    }


def _stage(decision: Decision) -> str:
    if decision.stage == Stage.LOCAL:
        return "local_block" if decision.blocked else "local_allow"
    return decision.stage


def _scores(pairs: Sequence[tuple[Example, Decision]]) -> dict[str, Any]:
    tp = sum(e.blocked and d.blocked for e, d in pairs)
    fp = sum(not e.blocked and d.blocked for e, d in pairs)
    fn = sum(e.blocked and not d.blocked for e, d in pairs)
    precision, recall = share(tp, tp + fp), share(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    correct = sum(e.blocked == d.blocked for e, d in pairs)
    return {
        "n": len(pairs),
        "blocked_in_truth": tp + fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": share(correct, len(pairs)),
    }


def render(result: dict[str, Any]) -> str:
    stages = ", ".join(f"{k} {v:.1%}" for k, v in result["stages"].items())
    lines = [
        f"texts:                 {result['n']} ({result['blocked_in_truth']} to block)",
        f"precision / recall:    {result['precision']:.3f} / {result['recall']:.3f} "
        f"(F1 {result['f1']:.3f}, accuracy {result['accuracy']:.1%})",
        f"stages:                {stages}",
        f"judge share:           {result['judge_share']:.1%} (band: "
        f"{result['band']['blocked_in_truth']} to block, {result['band']['clean_in_truth']} clean)",
        f"local stage alone:     blocks right {result['local_block_precision']:.1%}, passes "
        f"on a topic {result['local_pass_misses']:.1%}",
        f"local stage latency:   p50 {result['local_latency_ms']['p50']:.2f} ms, "
        f"p95 {result['local_latency_ms']['p95']:.2f} ms",
        f"decision latency:      p50 {result['latency_ms']['p50']:.2f} ms, "
        f"p95 {result['latency_ms']['p95']:.2f} ms",
    ]
    for lang, scores in result["per_language"].items():
        lines.append(
            f"  {lang}: precision {scores['precision']:.3f}, recall {scores['recall']:.3f} "
            f"(n={scores['n']})"
        )
    if result["judge_failures"]:
        lines.append(f"judge failures:        {result['judge_failures']}")
    return "\n".join(lines)
