"""The local stage: TF-IDF over words and character n-grams, then logistic regression.

Trained on the route files' examples in a worker thread at start (about a second), and cached on
disk under a hash of those files and of the scikit-learn version, so a restart with unchanged
routes only loads it. Character n-grams carry Russian inflections and typos; word n-grams carry
phrases. One prediction takes well under a millisecond, so it runs on the event loop.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.routing.routes import RouteBook

logger = logging.getLogger(__name__)

FEATURES_VERSION = "1"  # bump when the pipeline below changes, so old caches are not used
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Score:
    route: str
    confidence: float


def normalize(text: str) -> str:
    return _SPACES.sub(" ", text.replace("ё", "е").replace("Ё", "Е")).strip().lower()


def build_pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    token_pattern=r"(?u)\b\w+\b",
                    sublinear_tf=True,
                    lowercase=False,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False
                ),
            ),
        ]
    )
    return Pipeline([("features", features), ("model", LogisticRegression(C=20, max_iter=5000))])


def fit_pipeline(texts: Sequence[str], labels: Sequence[str]) -> Any:
    """The scikit-learn pipeline fitted on these examples (blocking, seconds)."""
    pipeline = build_pipeline()
    pipeline.fit([normalize(t) for t in texts], list(labels))
    return pipeline


class LocalClassifier:
    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline
        self._routes: tuple[str, ...] = tuple(str(c) for c in pipeline.classes_)

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str]) -> LocalClassifier:
        return cls(fit_pipeline(texts, labels))

    def scores(self, text: str) -> list[Score]:
        """Every route with its probability, the most likely first."""
        probabilities = self._pipeline.predict_proba([normalize(text)])[0]
        ranked = sorted(zip(self._routes, probabilities, strict=True), key=lambda p: -p[1])
        return [Score(route, float(p)) for route, p in ranked]


def cache_path(book: RouteBook, cache_dir: Path | None) -> Path | None:
    import sklearn

    if cache_dir is None:
        return None
    name = f"router-{book.digest}-sk{sklearn.__version__}-f{FEATURES_VERSION}.joblib"
    return cache_dir / name


def load_cached(book: RouteBook, cache_dir: Path | None) -> LocalClassifier | None:
    import joblib

    cache = cache_path(book, cache_dir)
    if cache is None or not cache.is_file():
        return None
    try:
        return LocalClassifier(joblib.load(cache))
    except Exception:  # a damaged or foreign cache file is rebuilt, never trusted
        logger.warning("routing: ignoring unreadable classifier cache %s", cache)
        return None


def load_or_train(book: RouteBook, cache_dir: Path | None) -> LocalClassifier:
    """Blocking (a second or two): call it in a worker thread."""
    cached = load_cached(book, cache_dir)
    if cached is not None:
        return cached
    texts, labels, _ = book.training_data()
    classifier = LocalClassifier.train(texts, labels)
    cache = cache_path(book, cache_dir)
    if cache is not None:
        _write_atomically(cache, classifier._pipeline)
    return classifier


def _write_atomically(path: Path, pipeline: Any) -> None:
    import joblib

    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        joblib.dump(pipeline, tmp)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only disk costs a retrain at the next start, nothing more
        logger.warning("routing: could not cache the classifier at %s: %s", path, exc)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
