"""The local stage: TF-IDF over words and character n-grams, then logistic regression.

Trained with scikit-learn on the route files' examples (in a child process at start, a few
seconds), then exported to a plain-Python model (textmodel.py) and cached on disk under a hash
of those files and of the versions, so a restart with unchanged routes only reads that model,
without importing scikit-learn, SciPy or NumPy. Character n-grams carry Russian inflections and
typos; word n-grams carry phrases. One prediction takes about a tenth of a millisecond of CPU,
so it runs on the event loop.
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

from bot.routing import modelfile
from bot.routing.routes import RouteBook
from bot.routing.textmodel import LinearTextModel

logger = logging.getLogger(__name__)

FEATURES_VERSION = "2"  # bump when the pipeline or the exported model changes (old caches unused)
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
    def __init__(self, model: LinearTextModel) -> None:
        self.model = model

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str]) -> LocalClassifier:
        from bot.routing.export import export_pipeline

        return cls(export_pipeline(fit_pipeline(texts, labels)))

    def scores(self, text: str) -> list[Score]:
        """Every route with its probability, the most likely first."""
        probabilities = self.model.probabilities(normalize(text))
        ranked = sorted(zip(self.model.classes, probabilities, strict=True), key=lambda p: -p[1])
        return [Score(route, p) for route, p in ranked]


def trainer_version() -> str:
    """scikit-learn's version, read from its metadata (importing it costs ~100 MB)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        return "none"


def cache_path(book: RouteBook, cache_dir: Path | None) -> Path | None:
    if cache_dir is None:
        return None
    name = f"router-{book.digest}-sk{trainer_version()}-f{FEATURES_VERSION}.model"
    return cache_dir / name


def load_cached(book: RouteBook, cache_dir: Path | None) -> LocalClassifier | None:
    cache = cache_path(book, cache_dir)
    if cache is None or not cache.is_file():
        return None
    try:
        model = modelfile.loads(cache.read_bytes())
    except (OSError, ValueError):  # a damaged or foreign cache file is rebuilt, never trusted
        logger.warning("routing: ignoring unreadable classifier cache %s", cache)
        return None
    if set(model.classes) != set(book.ids):
        logger.warning("routing: ignoring a classifier cache for other routes: %s", cache)
        return None
    return LocalClassifier(model)


def load_or_train(book: RouteBook, cache_dir: Path | None) -> LocalClassifier:
    """Blocking (a second or two): call it in a worker thread."""
    cached = load_cached(book, cache_dir)
    if cached is not None:
        return cached
    texts, labels, _ = book.training_data()
    classifier = LocalClassifier.train(texts, labels)
    cache = cache_path(book, cache_dir)
    if cache is not None:
        _write_atomically(cache, modelfile.dumps(classifier.model, trainer=trainer_version()))
    return classifier


def _write_atomically(path: Path, data: bytes) -> None:
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only disk costs a retrain at the next start, nothing more
        logger.warning("routing: could not cache the classifier at %s: %s", path, exc)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
