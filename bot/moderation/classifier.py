"""The local stage: routing's text classifier (bot.textclass: TF-IDF over words and character
n-grams, logistic regression; trained with scikit-learn in a child process, run in plain
Python from its cache file) with two heads over the same features: on a kept-out topic or
not (`none`), and which topic. Trained on the topic files, their near misses and ordinary
messages (the neutral texts and the route files' examples).

A text is scored window by window (a few sentences each, like the examples it learnt from),
so one paragraph on a kept-out topic inside a long answer is not diluted by the rest; the
text's score is its most flagged window's. Two thresholds, calibrated on out-of-fold
predictions, decide locally: below `allow_below` the text passes, from `block_from` on it is
blocked; in between the judge is asked.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.moderation.calibration import Thresholds, choose_thresholds
from bot.moderation.topics import CLEAN, TopicBook
from bot.textclass import cache, training
from bot.textclass.text import normalize
from bot.textclass.textmodel import LinearTextModel, ModelFormatError

logger = logging.getLogger(__name__)

FEATURES_VERSION = "3"  # bump when the models below change, so old caches are not used
WINDOW_CHARS = 300  # a longer sentence is cut
MIN_WINDOW_CHARS = 25
MAX_WINDOWS = 32
MAX_CHECKED_CHARS = 16_000
"""Beyond this an answer is checked in its first part only (windows grow to cover it)."""
_PIECES = re.compile(r"(?<=[.!?…;:])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Score:
    flagged: float  # probability that the text is on a kept-out topic
    topic: str | None  # the most likely topic of its most flagged window


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


FLAG_HEAD = ("False", "True")
"""The first head's classes: on a kept-out topic or not (trained on bools: out-of-fold
predictions encode the labels as 0 and 1, which only bools' class weights still name)."""
FLAGGED_WEIGHT = 2.0
"""Texts on a topic count twice in training: they are few beside the ordinary ones, and a
miss costs more than a judge's call."""
C = 10.0


def flag_model() -> Any:
    return training.logistic_regression(C, {True: FLAGGED_WEIGHT, False: 1.0})


class TopicClassifier:
    """P(on a kept-out topic) from the model's first head, the topic from its second (over the
    same features, in the same pass); with a single topic there is no second head."""

    def __init__(
        self, model: LinearTextModel, thresholds: Thresholds, only_topic: str | None = None
    ) -> None:
        flag_classes = model.classes[: model.heads[0]]
        if flag_classes != FLAG_HEAD or len(model.heads) != (1 if only_topic else 2):
            raise ModelFormatError(f"not a content filter's model: {model.classes}")
        self.model = model
        self.thresholds = thresholds
        self.only_topic = only_topic
        self._flagged = FLAG_HEAD.index("True")
        self._first_topic = len(flag_classes)

    @property
    def topics(self) -> frozenset[str]:
        if self.only_topic is not None:
            return frozenset({self.only_topic})
        return frozenset(self.model.classes[self._first_topic :])

    def score(self, text: str) -> Score:
        """Blocking: about 1 ms of CPU per 1000 characters (a short text 0.1-0.3 ms)."""
        best: list[float] = []
        for window in windows(text):
            probabilities = self.model.probabilities(normalize(window))
            if not best or probabilities[self._flagged] > best[self._flagged]:
                best = probabilities
        return Score(best[self._flagged], self._topic(best))

    def _topic(self, probabilities: list[float]) -> str:
        if self.only_topic is not None:
            return self.only_topic
        first = self._first_topic
        best = max(range(first, len(probabilities)), key=probabilities.__getitem__)
        return self.model.classes[best]

    def meta(self) -> dict[str, Any]:
        """What its cache file keeps beside the model."""
        return {"thresholds": asdict(self.thresholds), "only_topic": self.only_topic}

    @classmethod
    def from_cache(cls, model: LinearTextModel, meta: dict[str, Any]) -> TopicClassifier:
        try:
            thresholds = Thresholds(**meta["thresholds"])
            only_topic = meta["only_topic"]
        except (KeyError, TypeError):
            raise ModelFormatError("no thresholds in the model's metadata") from None
        if only_topic is not None and not isinstance(only_topic, str):
            raise ModelFormatError("the model's only topic is not a string")
        return cls(model, thresholds, only_topic)


def _flags(labels: Sequence[str]) -> list[bool]:
    return [label != CLEAN for label in labels]


def train(texts: Sequence[str], labels: Sequence[str]) -> tuple[LinearTextModel, str | None]:
    """The model (blocking, seconds), and the topic if there is only one."""
    from bot.textclass.export import export

    union = training.features()
    matrix = union.fit_transform([normalize(t) for t in texts])
    flags = _flags(labels)
    flag = flag_model().fit(matrix, flags)
    rows = [i for i, f in enumerate(flags) if f]
    topics = sorted({labels[i] for i in rows})
    if len(topics) == 1:
        return export(union, [flag]), topics[0]
    topic = training.logistic_regression(C).fit(matrix[rows], [labels[i] for i in rows])
    return export(union, [flag, topic]), None


def out_of_fold(texts: Sequence[str], labels: Sequence[str], folds: int = 5) -> list[float]:
    """P(on a topic) of every example from a model that did not see it (blocking, seconds)."""
    flags = _flags(labels)
    _, rows = training.out_of_fold(
        training.pipeline(flag_model()), texts, flags, strata=labels, folds=folds
    )
    return [row[1] for row in rows]  # classes False, True


def build(
    book: TopicBook, neutral: Sequence[str], miss_target: float, false_block_target: float
) -> TopicClassifier:
    """Train and calibrate (blocking: seconds; run it in a worker process)."""
    texts, labels = book.training_data(neutral)
    scores = out_of_fold(texts, labels)
    flagged = [label != CLEAN for label in labels]
    thresholds = choose_thresholds(scores, flagged, miss_target, false_block_target)
    model, only_topic = train(texts, labels)
    return TopicClassifier(model, thresholds, only_topic)


def cache_path(
    book: TopicBook, neutral: Sequence[str], targets: tuple[float, float], cache_dir: Path
) -> Path:
    digest = hashlib.sha256("\n".join(neutral).encode()).hexdigest()[:12]
    name = (
        f"moderation-{book.digest}-{digest}-{targets[0]:g}-{targets[1]:g}"
        f"-sk{training.trainer_version()}-f{FEATURES_VERSION}.model"
    )
    return cache_dir / name


def load_or_build(
    book: TopicBook,
    neutral: Sequence[str],
    targets: tuple[float, float],
    cache_dir: Path | None,
) -> TopicClassifier:
    """Blocking: loads the cached classifier for exactly these files, else builds it."""
    path = cache_path(book, neutral, targets, cache_dir) if cache_dir else None
    cached = cache.read(path, "moderation") if path is not None else None
    if cached is not None:
        try:
            classifier = TopicClassifier.from_cache(*cached)
            if classifier.topics == frozenset(book.ids):
                return classifier
        except ModelFormatError:
            pass
        logger.warning("moderation: ignoring a classifier cache not for these topics: %s", path)
    classifier = build(book, neutral, *targets)
    if path is not None:
        trainer = training.trainer_version()
        cache.write(path, classifier.model, "moderation", classifier.meta(), trainer=trainer)
    return classifier
