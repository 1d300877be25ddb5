"""The content filter's two thresholds, calibrated on out-of-fold predictions by
fixed-sequence testing with one-sided Clopper-Pearson bounds (bot.textclass.bounds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.textclass.bounds import clopper_pearson_upper, smallest_sample

CONFIDENCE = 0.9  # of the error bounds
ALLOW_GRID = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
BLOCK_GRID = (0.99, 0.975, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5)


@dataclass(frozen=True, slots=True)
class Thresholds:
    allow_below: float
    block_from: float
    allowed: int  # out-of-fold examples the local stage let through at these thresholds
    missed: int  # of those, on a topic
    blocked: int
    wrongly_blocked: int
    miss_bound: float  # Clopper-Pearson upper bounds of those rates
    false_block_bound: float


def choose_thresholds(
    scores: Sequence[float], flagged: Sequence[bool], miss_target: float, false_block_target: float
) -> Thresholds:
    """Fixed-sequence tests, as for the routes: the highest allow threshold whose bound on the
    share of flagged texts among those let through stays under `miss_target`, and the lowest
    block threshold whose bound on the share of clean texts among those blocked stays under
    `false_block_target`; each sequence stops at its first failure."""
    pairs = list(zip(scores, flagged, strict=True))
    allow = (0.0, 0, 0, 0.0)
    for threshold in ALLOW_GRID:  # from the strictest up
        passed = [f for s, f in pairs if s < threshold]
        bound = clopper_pearson_upper(sum(passed), len(passed), CONFIDENCE)
        if bound > miss_target:
            if len(passed) < smallest_sample(miss_target, CONFIDENCE):
                continue  # too few to test yet
            break
        if len(passed) > allow[1]:  # one that admits nothing new is untested
            allow = (threshold, len(passed), sum(passed), bound)
    block = (1.01, 0, 0, 0.0)
    for threshold in BLOCK_GRID:  # from the strictest down
        if threshold <= allow[0]:
            break
        stopped = [not f for s, f in pairs if s >= threshold]
        bound = clopper_pearson_upper(sum(stopped), len(stopped), CONFIDENCE)
        if bound > false_block_target:
            if len(stopped) < smallest_sample(false_block_target, CONFIDENCE):
                continue
            break
        if len(stopped) > block[1]:
            block = (threshold, len(stopped), sum(stopped), bound)
    return Thresholds(
        allow[0], block[0], allow[1], allow[2], block[1], block[2], allow[3], block[3]
    )
