"""What the `eval` commands of routing and of the content filter share: reading a labelled
JSONL file, guessing a text's language, asking a judge a few at a time, and the figures."""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
JUDGE_CONCURRENCY = 4

Item = TypeVar("Item")
Result = TypeVar("Result")


class EvalDataError(ValueError):
    pass


def read_rows(path: Path, keys: Sequence[str]) -> list[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for every non-blank line; each object has `keys`."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"{path}: cannot read the file ({exc})") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict) or any(key not in row for key in keys):
            wanted = " and ".join(f'"{key}"' for key in keys)
            raise EvalDataError(f"{path}:{number}: expected a JSON object with {wanted}")
        rows.append((number, row))
    if not rows:
        raise EvalDataError(f"{path}: no examples")
    return rows


def guess_language(text: str) -> str:
    letters = [c for c in text.lower() if c.isalpha()]
    cyrillic = sum(c in CYRILLIC for c in letters)
    return "ru" if letters and cyrillic * 2 >= len(letters) else "en"


async def gather_limited(
    items: Sequence[Item], one: Callable[[Item], Awaitable[Result]]
) -> list[Result]:
    """`one` of every item, JUDGE_CONCURRENCY at a time, in the items' order."""
    limit = asyncio.Semaphore(JUDGE_CONCURRENCY)

    async def limited(item: Item) -> Result:
        async with limit:
            return await one(item)

    return list(await asyncio.gather(*(limited(item) for item in items)))


def f1_scores(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> list[float]:
    """Each label's F1 (0 where it was neither true nor predicted)."""
    scores: list[float] = []
    for label in labels:
        hits = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        wrong = sum(t != p and label in (t, p) for t, p in zip(truth, predicted, strict=True))
        scores.append(2 * hits / (2 * hits + wrong) if hits else 0.0)
    return scores


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3)}
