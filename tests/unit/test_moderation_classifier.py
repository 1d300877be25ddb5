"""The content filter's classifier on the shipped topic files: trained once into an empty
cache, then read back by a fresh process without scikit-learn, SciPy, NumPy or joblib; a
damaged, old or foreign cache is trained again."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.moderation import classifier as classifier_module
from bot.moderation.classifier import TopicClassifier, cache_path, load_or_build
from bot.moderation.corpus import neutral_texts
from bot.moderation.topics import TopicBook, load_topics
from bot.textclass import modelfile

PROJECT_ROOT = Path(__file__).parents[2]
TOPICS = PROJECT_ROOT / "moderation"
ROUTES = PROJECT_ROOT / "routes"
TARGETS = (0.02, 0.15)
PROBES = [
    "which betting site gives the best odds on tennis",
    "how do I cook rice in a pot",
    "Paragraph one is about a picnic. " * 20 + "Where can I buy cocaine tonight?",
]

LOAD_AND_SCORE = """
import json, sys
from pathlib import Path
from bot.moderation.config import ModerationConfig
from bot.moderation.setup import prepare

config = ModerationConfig(topics_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))
book, classifier = prepare(config, Path(sys.argv[3]))
scores = {text: [classifier.score(text).flagged, classifier.score(text).topic]
          for text in sys.argv[4:]}
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy", "numpy", "joblib"))
print(json.dumps({"scores": scores, "heavy": heavy}))
"""


@dataclass(frozen=True)
class Trained:
    cache: Path
    book: TopicBook
    neutral: list[str]
    classifier: TopicClassifier


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    cache = tmp_path_factory.mktemp("cache")
    book, neutral = load_topics(TOPICS), neutral_texts(ROUTES)
    return Trained(cache, book, neutral, load_or_build(book, neutral, TARGETS, cache))


def scores(classifier: TopicClassifier) -> dict[str, list[float | str | None]]:
    return {t: [classifier.score(t).flagged, classifier.score(t).topic] for t in PROBES}


def test_a_cached_classifier_loads_without_scikit_learn(trained: Trained) -> None:
    assert cache_path(trained.book, trained.neutral, TARGETS, trained.cache).is_file()
    command = [sys.executable, "-c", LOAD_AND_SCORE, str(TOPICS), str(trained.cache)]
    command += [str(ROUTES), *PROBES]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout)
    assert loaded["heavy"] == []
    assert loaded["scores"] == scores(trained.classifier)
    thresholds = trained.classifier.thresholds
    gambling, rice, long_answer = (loaded["scores"][t] for t in PROBES)
    assert gambling[0] >= thresholds.block_from
    assert gambling[1] == "gambling"
    assert rice[0] < thresholds.allow_below
    assert long_answer[1] == "drugs"  # its last window, not diluted by the picnic


@pytest.mark.parametrize(
    "content",
    [b"", b"\x80\x04\x95old joblib pickle", None],
    ids=["empty", "joblib", "no-thresholds"],
)
def test_a_damaged_old_or_foreign_cache_is_trained_again_and_replaced(
    trained: Trained,
    content: bytes | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if content is None:  # a model file without the filter's metadata (routing's, say)
        content = modelfile.dumps(trained.classifier.model)
    cache_path(trained.book, trained.neutral, TARGETS, tmp_path).write_bytes(content)
    builds: list[int] = []

    def build(book: TopicBook, neutral: Sequence[str], *targets: float) -> TopicClassifier:
        builds.append(len(neutral))  # the real training is the module fixture's (seconds)
        return trained.classifier

    monkeypatch.setattr(classifier_module, "build", build)
    with caplog.at_level(logging.WARNING):
        assert load_or_build(trained.book, trained.neutral, TARGETS, tmp_path) is (
            trained.classifier
        )
    assert "moderation: ignoring" in caplog.text
    assert builds == [len(trained.neutral)]
    monkeypatch.undo()
    reloaded = load_or_build(trained.book, trained.neutral, TARGETS, tmp_path)
    assert scores(reloaded) == scores(trained.classifier)
    assert reloaded.thresholds == trained.classifier.thresholds


def test_a_cache_of_other_topics_is_not_used(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = cache_path(trained.book, trained.neutral, TARGETS, trained.cache)
    monkeypatch.setattr(classifier_module, "FEATURES_VERSION", "2")
    assert cache_path(trained.book, trained.neutral, TARGETS, trained.cache) != current
    monkeypatch.undo()
    only_drugs = TopicBook({"drugs": trained.book.topics["drugs"]}, trained.book.digest)
    target = cache_path(only_drugs, trained.neutral, TARGETS, tmp_path)
    target.write_bytes(current.read_bytes())  # a file copied by hand under another name
    monkeypatch.setattr(classifier_module, "build", lambda *args: trained.classifier)
    assert load_or_build(only_drugs, trained.neutral, TARGETS, tmp_path) is trained.classifier
