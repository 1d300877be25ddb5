"""Training with scikit-learn: the feature union every classifier uses, fitting, and
out-of-fold probabilities for calibration. Blocking (seconds) and heavy (a few hundred MB):
only the child process that trains and the command line call it; scikit-learn is imported
inside the functions, so importing this module costs nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from bot.textclass.text import normalize

Label = TypeVar("Label", str, bool)


def features() -> Any:
    """TF-IDF over word uni- and bigrams and over character 2- to 5-grams within words:
    characters carry Russian inflections and typos, words carry phrases."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b\w+\b",
        sublinear_tf=True,
        lowercase=False,
    )
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False
    )
    return FeatureUnion([("words", words), ("chars", chars)])


def logistic_regression(c: float, class_weight: Mapping[Any, float] | None = None) -> Any:
    from sklearn.linear_model import LogisticRegression

    weights = dict(class_weight) if class_weight is not None else None
    return LogisticRegression(C=c, max_iter=5000, class_weight=weights)


def pipeline(model: Any) -> Any:
    """The features, then `model`: what export.export_pipeline takes once fitted."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", features()), ("model", model)])


def out_of_fold(
    unfitted: Any,
    texts: Sequence[str],
    labels: Sequence[Label],
    strata: Sequence[str],
    folds: int = 5,
    seed: int = 0,
) -> tuple[list[Label], list[list[float]]]:
    """The classes, and every text's probabilities from a copy of `unfitted` trained on the
    folds without it (folds stratified by `strata`)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    normalized = [normalize(t) for t in texts]
    rows = cross_val_predict(
        unfitted,
        normalized,
        list(labels),
        cv=splitter.split(normalized, strata),
        method="predict_proba",
    )
    return sorted(set(labels)), [[float(p) for p in row] for row in rows]


def trainer_version() -> str:
    """scikit-learn's version, read from its metadata (importing it costs ~100 MB)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        return "none"
