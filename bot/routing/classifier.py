"""The local stage: TF-IDF over words and character n-grams, then logistic regression.

Trained with scikit-learn on the route files' examples (in a child process at start, a few
seconds), then exported to a plain-Python model (bot.textclass) and cached on disk under a
hash of those files and of the versions, so a restart with unchanged routes only reads that
model, without importing scikit-learn, SciPy or NumPy. One prediction takes about a tenth of a
millisecond of CPU, so it runs on the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.routing.routes import RouteBook
from bot.textclass import cache, training
from bot.textclass.text import normalize
from bot.textclass.textmodel import LinearTextModel

logger = logging.getLogger(__name__)

FEATURES_VERSION = "2"  # bump when the pipeline or the exported model changes (old caches unused)
C = 20.0


@dataclass(frozen=True, slots=True)
class Score:
    route: str
    confidence: float


def build_pipeline() -> Any:
    return training.pipeline(training.logistic_regression(C))


def fit_pipeline(texts: Sequence[str], labels: Sequence[str]) -> Any:
    """The scikit-learn pipeline fitted on these examples (blocking, seconds)."""
    pipeline = build_pipeline()
    pipeline.fit([normalize(t) for t in texts], list(labels))
    return pipeline


class LocalClassifier:
    def __init__(self, model: LinearTextModel) -> None:
        self.model = model

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str]) -> LocalClassifier:
        from bot.textclass.export import export_pipeline

        return cls(export_pipeline(fit_pipeline(texts, labels)))

    def scores(self, text: str) -> list[Score]:
        """Every route with its probability, the most likely first."""
        probabilities = self.model.probabilities(normalize(text))
        ranked = sorted(zip(self.model.classes, probabilities, strict=True), key=lambda p: -p[1])
        return [Score(route, p) for route, p in ranked]


def cache_path(book: RouteBook, cache_dir: Path | None) -> Path | None:
    if cache_dir is None:
        return None
    name = f"router-{book.digest}-sk{training.trainer_version()}-f{FEATURES_VERSION}.model"
    return cache_dir / name


def load_cached(book: RouteBook, cache_dir: Path | None) -> LocalClassifier | None:
    path = cache_path(book, cache_dir)
    cached = cache.read(path, "routing") if path is not None else None
    if cached is None:
        return None
    model, _ = cached
    if set(model.classes) != set(book.ids):
        logger.warning("routing: ignoring a classifier cache for other routes: %s", path)
        return None
    return LocalClassifier(model)


def load_or_train(book: RouteBook, cache_dir: Path | None) -> LocalClassifier:
    """Blocking (a second or two): call it in a worker thread."""
    cached = load_cached(book, cache_dir)
    if cached is not None:
        return cached
    texts, labels, _ = book.training_data()
    classifier = LocalClassifier.train(texts, labels)
    path = cache_path(book, cache_dir)
    if path is not None:
        cache.write(path, classifier.model, "routing", trainer=training.trainer_version())
    return classifier
