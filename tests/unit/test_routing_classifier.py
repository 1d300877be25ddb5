"""The classifier's cache: a start with it loads a plain-Python model (no scikit-learn, SciPy or
NumPy in the bot's process); a missing, damaged or old cache is trained again and replaced."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.routing import classifier as classifier_module
from bot.routing.classifier import LocalClassifier, cache_path, load_cached, load_or_train
from bot.routing.routes import RouteBook, load_routes

PROJECT_ROOT = Path(__file__).parents[2]
ROUTES = PROJECT_ROOT / "routes"
PROBES = ["how do I undo the last git commit", "переведи на английский: доброе утро", "hi"]

# Run in a fresh interpreter: the bot's start with a cached classifier and a calibration file.
LOAD_AND_SCORE = """
import json, sys
from pathlib import Path
from bot.config import RoutingConfig
from bot.routing.setup import prepare

config = RoutingConfig(routes_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))
book, classifier, calibration = prepare(config)
scores = {text: [(s.route, s.confidence) for s in classifier.scores(text)] for text in sys.argv[3:]}
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy", "numpy", "joblib"))
print(json.dumps({"scores": scores, "heavy": heavy}))
"""


@pytest.fixture(scope="module")
def book() -> RouteBook:
    return load_routes(ROUTES)


@pytest.fixture(scope="module")
def trained(book: RouteBook, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The shipped routes' classifier, trained once for this module into an empty cache."""
    cache = tmp_path_factory.mktemp("cache")
    assert load_cached(book, cache) is None
    return Trained(cache, load_or_train(book, cache))


@pytest.fixture(scope="module")
def trained_cache(trained: Trained) -> Path:
    return trained.cache


@dataclass(frozen=True)
class Trained:
    cache: Path
    classifier: LocalClassifier


def scores(classifier: LocalClassifier) -> dict[str, list[tuple[str, float]]]:
    return {text: [(s.route, s.confidence) for s in classifier.scores(text)] for text in PROBES}


def test_a_cached_classifier_loads_without_scikit_learn(
    book: RouteBook, trained_cache: Path
) -> None:
    command = [sys.executable, "-c", LOAD_AND_SCORE, str(ROUTES), str(trained_cache), *PROBES]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout)
    assert loaded["heavy"] == []
    expected = load_cached(book, trained_cache)
    assert expected is not None
    assert {t: [tuple(s) for s in v] for t, v in loaded["scores"].items()} == scores(expected)
    assert loaded["scores"][PROBES[0]][0][0] == "code"
    assert loaded["scores"][PROBES[1]][0][0] == "translate"


def test_a_missing_cache_is_trained_and_written(book: RouteBook, trained: Trained) -> None:
    written = cache_path(book, trained.cache)
    assert written is not None
    assert written.is_file()
    reloaded = load_cached(book, trained.cache)
    assert reloaded is not None
    assert scores(reloaded) == scores(trained.classifier)


@pytest.mark.parametrize(
    "content",
    [b"", b"linear-text-model/1\n{not json", b"\x80\x04\x95old joblib pickle"],
)
def test_a_damaged_or_old_cache_is_trained_again_and_replaced(
    book: RouteBook,
    trained: Trained,
    tmp_path: Path,
    content: bytes,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = cache_path(book, tmp_path)
    assert path is not None
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert load_cached(book, tmp_path) is None
    assert "ignoring unreadable classifier cache" in caplog.text
    trainings: list[int] = []

    def train(texts: Sequence[str], labels: Sequence[str]) -> LocalClassifier:
        trainings.append(len(texts))  # the real training is the module fixture's (seconds)
        return trained.classifier

    monkeypatch.setattr(LocalClassifier, "train", staticmethod(train))
    assert load_or_train(book, tmp_path) is trained.classifier
    assert trainings == [len(book.training_data()[0])]
    reloaded = load_cached(book, tmp_path)
    assert reloaded is not None
    assert scores(reloaded) == scores(trained.classifier)


def test_a_cache_of_other_features_or_routes_is_not_used(
    book: RouteBook, trained_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = cache_path(book, trained_cache)
    assert current is not None
    monkeypatch.setattr(classifier_module, "FEATURES_VERSION", "1")
    assert cache_path(book, trained_cache) != current  # a bumped version is another file
    assert load_cached(book, trained_cache) is None
    monkeypatch.undo()
    # A model for other routes under this book's name (a file copied by hand): refused.
    other = tmp_path / "routes"
    shutil.copytree(ROUTES, other)
    (other / "image.md").unlink()
    fewer = load_routes(other)
    target = cache_path(fewer, tmp_path / "cache")
    assert target is not None
    target.parent.mkdir()
    shutil.copyfile(current, target)
    assert load_cached(fewer, tmp_path / "cache") is None
