"""Per-route confidence thresholds for the local stage, from held-out folds of the examples.

For each route, the classifier's out-of-fold predictions of that route are sorted by confidence.
Thresholds are tested from the highest down (fixed-sequence testing): a threshold passes when
the Clopper-Pearson upper bound of the error rate among predictions at or above it stays under
the route's `error_target`; the lowest threshold reached before the first failure is kept. A
route with no passing threshold never decides locally: its messages go to the judge.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.routing.classifier import Score, build_pipeline
from bot.routing.routes import RouteBook
from bot.textclass.bounds import clopper_pearson_upper, smallest_sample
from bot.textclass.training import out_of_fold

NEVER = 1.01
"""A threshold no probability reaches: the route always escalates."""


class CalibrationError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RouteCalibration:
    threshold: float
    predicted: int  # out-of-fold predictions of this route
    decided: int  # of those, at or above the threshold
    errors: int  # of those decided, wrong
    error_bound: float  # Clopper-Pearson upper bound of the error rate among decided


@dataclass(frozen=True, slots=True)
class Calibration:
    digest: str  # of the route files it was made from
    confidence: float  # of the error bounds
    folds: int
    routes: Mapping[str, RouteCalibration]
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def threshold(self, route: str) -> float:
        entry = self.routes.get(route)
        return entry.threshold if entry else NEVER

    def save(self, path: Path) -> None:
        data = asdict(self)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
                fh.write("\n")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: Path) -> Calibration:
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            routes = {k: RouteCalibration(**v) for k, v in data.pop("routes").items()}
            return cls(routes=routes, **data)
        except FileNotFoundError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CalibrationError(
                f"{path}: not a calibration file ({exc}); run `python -m bot routes calibrate`"
            ) from None


GRID = (0.99, 0.975, *(round(0.95 - 0.05 * i, 2) for i in range(16)))
"""Candidate thresholds, tested from the strictest down: 0.99, 0.975, 0.95, 0.90 ... 0.20.
A coarse grid keeps each step's sample large, so one unlucky example does not end the
sequence early, and bounds the number of tests."""


def choose_threshold(
    predictions: Sequence[tuple[float, bool]], alpha: float, confidence: float
) -> RouteCalibration:
    """`predictions`: (confidence, correct) of every prediction of one route.

    The sequence starts at the first threshold that admits enough predictions for one error
    to pass (fewer could not survive a single unlucky example, which would end the sequence
    before it tested anything useful), and ends at the first threshold that fails.
    """
    best = RouteCalibration(NEVER, len(predictions), 0, 0, 1.0)
    smallest = smallest_sample(alpha, confidence)
    for threshold in GRID:
        decided = [correct for score, correct in predictions if score >= threshold]
        if len(decided) < smallest:
            continue  # too few to test yet
        errors = len(decided) - sum(decided)
        bound = clopper_pearson_upper(errors, len(decided), confidence)
        if bound > alpha:
            break
        if len(decided) > best.decided:  # a lower threshold that admits nothing new is untested
            best = RouteCalibration(threshold, len(predictions), len(decided), errors, bound)
    return best


def out_of_fold_scores(book: RouteBook, folds: int, seed: int = 0) -> tuple[list[str], list[Score]]:
    """Labels and the top out-of-fold prediction for every example (blocking, seconds)."""
    texts, labels, languages = book.training_data()
    strata = [f"{label}/{language}" for label, language in zip(labels, languages, strict=True)]
    classes, probabilities = out_of_fold(build_pipeline(), texts, labels, strata, folds, seed)
    top: list[Score] = []
    for row in probabilities:
        best = max(range(len(classes)), key=lambda i: row[i])
        top.append(Score(classes[best], row[best]))
    return labels, top


def calibrate(book: RouteBook, *, folds: int = 5, confidence: float = 0.9) -> Calibration:
    labels, top = out_of_fold_scores(book, folds)
    per_route: dict[str, list[tuple[float, bool]]] = {route: [] for route in book.ids}
    for label, score in zip(labels, top, strict=True):
        per_route[score.route].append((score.confidence, score.route == label))
    routes = {
        route: choose_threshold(predictions, book[route].error_target, confidence)
        for route, predictions in per_route.items()
    }
    return Calibration(digest=book.digest, confidence=confidence, folds=folds, routes=routes)
