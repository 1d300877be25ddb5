"""`python -m bot routes eval`: how well the cascade routes a labelled set of messages."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.routing.router import Decision, Router, Stage
from bot.textclass.evaluation import (
    EvalDataError,
    f1_scores,
    gather_limited,
    guess_language,
    percentiles,
    read_rows,
    share,
)


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    route: str
    language: str
    previous: str | None = None


def read_examples(path: Path, known_routes: Sequence[str]) -> list[Example]:
    """Lines `{"text": ..., "route": ...}`; optional `lang` (else guessed from the script) and
    `previous` (the route of the message before, for follow-ups); other keys are ignored."""
    examples: list[Example] = []
    for number, row in read_rows(path, ("text", "route")):
        text, route = row["text"], row["route"]
        if not isinstance(text, str) or not isinstance(route, str):
            raise EvalDataError(f'{path}:{number}: "text" and "route" must be strings')
        if route not in known_routes:
            raise EvalDataError(
                f"{path}:{number}: unknown route {route!r} (routes: {', '.join(known_routes)})"
            )
        language = row.get("lang") or guess_language(text)
        previous = row.get("previous")
        examples.append(
            Example(text, route, str(language), previous if isinstance(previous, str) else None)
        )
    return examples


async def decide_all(
    router: Router, examples: Sequence[Example], *, use_judge: bool
) -> list[Decision]:
    if not use_judge:
        return [router.decide_local(e.text, previous=e.previous) for e in examples]
    return await gather_limited(examples, lambda e: router.decide(e.text, previous=e.previous))


def report(
    examples: Sequence[Example], decisions: Sequence[Decision], routes: Sequence[str]
) -> dict[str, Any]:
    truth = [e.route for e in examples]
    predicted = [d.route for d in decisions]
    correct = [t == p for t, p in zip(truth, predicted, strict=True)]
    total = len(examples)
    per_route: dict[str, dict[str, float | int]] = {}
    f1s = f1_scores(truth, predicted, routes)
    for route, f1 in zip(routes, f1s, strict=True):
        members = [c for c, t in zip(correct, truth, strict=True) if t == route]
        chosen = [c for c, p in zip(correct, predicted, strict=True) if p == route]
        per_route[route] = {
            "n": len(members),
            "accuracy": share(sum(members), len(members)),
            "precision": share(sum(chosen), len(chosen)),
            "f1": round(f1, 4),
        }
    per_language: dict[str, dict[str, float | int]] = {}
    by_language: dict[str, list[bool]] = defaultdict(list)
    for example, ok in zip(examples, correct, strict=True):
        by_language[example.language].append(ok)
    for language, oks in sorted(by_language.items()):
        per_language[language] = {"n": len(oks), "accuracy": share(sum(oks), len(oks))}
    stages = Counter(d.stage.value for d in decisions)
    local = [ok for ok, d in zip(correct, decisions, strict=True) if d.stage is Stage.LOCAL]
    latencies = sorted(d.seconds * 1000 for d in decisions)
    local_latencies = sorted((d.seconds - (d.judge_seconds or 0.0)) * 1000 for d in decisions)
    judged = sum(1 for d in decisions if d.judge_seconds is not None)
    return {
        "n": total,
        "accuracy": share(sum(correct), total),
        "macro_f1": round(statistics.fmean(f1s), 4) if f1s else 0.0,
        "per_route": per_route,
        "per_language": per_language,
        "stages": {stage.value: share(stages[stage.value], total) for stage in Stage},
        "local_decided_accuracy": share(sum(local), len(local)),
        "judge_calls_per_1000": round(1000 * judged / total, 1),
        "judge_failures": dict(Counter(d.judge_failure for d in decisions if d.judge_failure)),
        "calibration_error": expected_calibration_error(decisions, truth),
        "latency_ms": percentiles(latencies),
        "local_latency_ms": percentiles(local_latencies),
    }


def expected_calibration_error(
    decisions: Sequence[Decision], truth: Sequence[str], bins: int = 10
) -> float:
    """Of the local classifier's top route: |confidence - accuracy| averaged over bins."""
    pairs = [
        (d.scores[0].confidence, d.scores[0].route == t)
        for d, t in zip(decisions, truth, strict=True)
        if d.scores
    ]
    if not pairs:
        return 0.0
    error = 0.0
    for index in range(bins):
        low, high = index / bins, (index + 1) / bins
        members = [(c, ok) for c, ok in pairs if low < c <= high or (index == 0 and c == 0)]
        if members:
            confidence = statistics.fmean(c for c, _ in members)
            accuracy = statistics.fmean(ok for _, ok in members)
            error += len(members) / len(pairs) * abs(confidence - accuracy)
    return round(error, 4)


def render(result: dict[str, Any]) -> str:
    stages = ", ".join(f"{k} {v:.1%}" for k, v in result["stages"].items())
    lines = [
        f"messages:               {result['n']}",
        f"accuracy:               {result['accuracy']:.1%}",
        f"macro-F1:               {result['macro_f1']:.3f}",
        f"stages:                 {stages}",
        f"local-stage accuracy:   {result['local_decided_accuracy']:.1%} (on what it decided)",
        f"judge calls / 1000:     {result['judge_calls_per_1000']}",
        f"calibration error:      {result['calibration_error']:.3f} (ECE of the local top route)",
        f"decision latency:       p50 {result['latency_ms']['p50']:.2f} ms, "
        f"p95 {result['latency_ms']['p95']:.2f} ms",
        f"local stage latency:    p50 {result['local_latency_ms']['p50']:.2f} ms, "
        f"p95 {result['local_latency_ms']['p95']:.2f} ms",
        "per language:           "
        + ", ".join(
            f"{lang} {v['accuracy']:.1%} (n={v['n']})" for lang, v in result["per_language"].items()
        ),
        "per route:              accuracy / precision / F1 (n)",
    ]
    for route, v in result["per_route"].items():
        lines.append(
            f"  {route:<12} {v['accuracy']:.1%} / {v['precision']:.1%} / {v['f1']:.3f} ({v['n']})"
        )
    if result["judge_failures"]:
        lines.append(f"judge failures:         {result['judge_failures']}")
    return "\n".join(lines)
