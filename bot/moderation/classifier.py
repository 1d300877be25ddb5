"""The local stage: the routing classifier's approach (TF-IDF over words and character n-grams,
logistic regression) with one class per topic plus `none`, trained on the topic files, their
near misses and ordinary messages (the route files' examples).

A text is scored window by window (a few sentences each, like the examples it learnt from),
so one paragraph on a kept-out topic inside a long answer is not diluted by the rest; the
text's score is its most flagged window's. Two thresholds, calibrated on out-of-fold
predictions, decide locally: below `allow_below` the text passes, from `block_from` on it is
blocked; in between the judge is asked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.moderation.topics import CLEAN, TopicBook
from bot.textclass.bounds import clopper_pearson_upper, smallest_sample
from bot.textclass.text import normalize

logger = logging.getLogger(__name__)

FEATURES_VERSION = "2"  # bump when the models below change, so old caches are not used
WINDOW_CHARS = 300  # a longer sentence is cut
MIN_WINDOW_CHARS = 25
MAX_WINDOWS = 32
MAX_CHECKED_CHARS = 16_000
"""Beyond this an answer is checked in its first part only (windows grow to cover it)."""
CONFIDENCE = 0.9  # of the error bounds
ALLOW_GRID = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
BLOCK_GRID = (0.99, 0.975, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5)
_PIECES = re.compile(r"(?<=[.!?…;:])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Score:
    flagged: float  # probability that the text is on a kept-out topic
    topic: str | None  # the most likely topic of its most flagged window


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


def windows(text: str) -> list[str]:
    """The text sentence by sentence (fragments shorter than MIN_WINDOW_CHARS join the next;
    long sentences are cut), at most MAX_WINDOWS of them: like the examples it learnt from.
    Scoring each alone keeps weak hints in neighbouring sentences from adding up."""
    text = text[:MAX_CHECKED_CHARS]
    size = max(WINDOW_CHARS, -(-len(text) // MAX_WINDOWS))
    result: list[str] = []
    current = ""
    for piece in _PIECES.split(text):
        current = f"{current} {piece.strip()}".strip()
        while len(current) > size:
            result.append(current[:size])
            current = current[size:]
        if len(current) >= MIN_WINDOW_CHARS:
            result.append(current)
            current = ""
    if current:
        result.append(current)
    while len(result) > MAX_WINDOWS:  # many short sentences: merge neighbours
        result = [" ".join(result[i : i + 2]) for i in range(0, len(result), 2)]
    return result or [text]


FLAGGED_WEIGHT = 2.0
"""Texts on a topic count twice in training: they are few beside the ordinary ones, and a
miss costs more than a judge's call."""
C = 10.0


def features() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
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


def flag_model() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000, class_weight={True: FLAGGED_WEIGHT, False: 1.0})


class TopicClassifier:
    """P(on a kept-out topic) from one model, the topic from another, on shared features."""

    def __init__(self, parts: dict[str, Any], thresholds: Thresholds) -> None:
        self.parts = parts
        self.thresholds = thresholds
        self._features = parts["features"]
        self._flag = parts["flag"]
        self._topic = parts["topic"]  # a fitted model, or the only topic's id
        self._flagged_column = list(self._flag.classes_).index(True)

    def score(self, text: str) -> Score:
        """Blocking: about 1 ms per 1000 characters."""
        matrix = self._features.transform([normalize(w) for w in windows(text)])
        probabilities = self._flag.predict_proba(matrix)[:, self._flagged_column]
        best = int(probabilities.argmax())
        topic = (
            self._topic if isinstance(self._topic, str) else self._topic.predict(matrix[best])[0]
        )
        return Score(float(probabilities[best]), str(topic))


def train(texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    union = features()
    matrix = union.fit_transform([normalize(t) for t in texts])
    flagged = [label != CLEAN for label in labels]
    flag = flag_model().fit(matrix, flagged)
    rows = [i for i, f in enumerate(flagged) if f]
    topics = sorted({labels[i] for i in rows})
    topic: Any = topics[0]
    if len(topics) > 1:
        topic = LogisticRegression(C=C, max_iter=5000).fit(matrix[rows], [labels[i] for i in rows])
    return {"features": union, "flag": flag, "topic": topic}


def out_of_fold(texts: Sequence[str], labels: Sequence[str], folds: int = 5) -> list[float]:
    """P(on a topic) of every example from a model that did not see it (blocking, seconds)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import Pipeline

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    normalized = [normalize(t) for t in texts]
    flagged = [label != CLEAN for label in labels]
    pipeline = Pipeline([("features", features()), ("flag", flag_model())])
    probabilities = cross_val_predict(
        pipeline, normalized, flagged, cv=splitter.split(normalized, labels), method="predict_proba"
    )
    return [float(row[1]) for row in probabilities]


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


def build(
    book: TopicBook, neutral: Sequence[str], miss_target: float, false_block_target: float
) -> TopicClassifier:
    """Train and calibrate (blocking: seconds; run it in a worker process)."""
    texts, labels = book.training_data(neutral)
    scores = out_of_fold(texts, labels)
    flagged = [label != CLEAN for label in labels]
    thresholds = choose_thresholds(scores, flagged, miss_target, false_block_target)
    return TopicClassifier(train(texts, labels), thresholds)


def cache_path(
    book: TopicBook, neutral: Sequence[str], targets: tuple[float, float], cache_dir: Path
) -> Path:
    import sklearn

    digest = hashlib.sha256("\n".join(neutral).encode()).hexdigest()[:12]
    name = (
        f"moderation-{book.digest}-{digest}-{targets[0]:g}-{targets[1]:g}"
        f"-sk{sklearn.__version__}-f{FEATURES_VERSION}.joblib"
    )
    return cache_dir / name


def load_or_build(
    book: TopicBook,
    neutral: Sequence[str],
    targets: tuple[float, float],
    cache_dir: Path | None,
) -> TopicClassifier:
    """Blocking: loads the cached classifier for exactly these files, else builds it."""
    import joblib

    path = cache_path(book, neutral, targets, cache_dir) if cache_dir else None
    if path is not None and path.is_file():
        try:
            data = joblib.load(path)
            return TopicClassifier(data["parts"], Thresholds(**data["thresholds"]))
        except Exception:  # a damaged or foreign cache is rebuilt, never trusted
            logger.warning("moderation: ignoring unreadable classifier cache %s", path)
    classifier = build(book, neutral, *targets)
    if path is not None:
        _save(path, {"parts": classifier.parts, "thresholds": asdict(classifier.thresholds)})
    return classifier


def _save(path: Path, data: dict[str, Any]) -> None:
    import joblib

    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        joblib.dump(data, tmp)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only disk costs a retrain at the next start
        logger.warning("moderation: could not cache the classifier at %s: %s", path, exc)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
