"""From a fitted scikit-learn pipeline to the plain-Python model the bot runs (textmodel.py).

Only training imports this (in the child process that trains, or the command line): the
pipeline's vectorizers become blocks of n-gram columns with their IDF, and each logistic
regression becomes one weight row per class. A pipeline using an option that textmodel.py
does not repeat exactly is refused rather than exported into a model that scores differently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.textclass.textmodel import CHAR_WB, WORD, Block, LinearTextModel

_DEFAULTS = {  # options textmodel.py does not implement must keep these values
    "binary": False,
    "input": "content",
    "preprocessor": None,
    "tokenizer": None,
    "stop_words": None,
    "strip_accents": None,
}


class ExportError(ValueError):
    pass


def export_pipeline(pipeline: Any) -> LinearTextModel:
    """Pipeline([("features", FeatureUnion of TfidfVectorizers), ("model", LogisticRegression)])."""
    features, model = (step for _, step in pipeline.steps)
    return export(features, [model])


def export(features: Any, models: Sequence[Any]) -> LinearTextModel:
    """A fitted FeatureUnion of TfidfVectorizers and logistic regressions fitted on its
    output: one head per regression, in this order."""
    if getattr(features, "transformer_weights", None) is not None:
        raise ExportError("weighted feature unions are not supported")
    blocks: list[Block] = []
    idf: list[float] = []
    for name, vectorizer in features.transformer_list:
        block, block_idf = _block(name, vectorizer, first_column=len(idf))
        blocks.append(block)
        idf += block_idf
    classes: list[str] = []
    coefficients: list[list[float]] = []
    intercepts: list[float] = []
    for model in models:
        head_classes, head_coefficients, head_intercepts = _head(model, len(idf))
        classes += head_classes
        coefficients += head_coefficients
        intercepts += head_intercepts
    heads = [len(model.classes_) for model in models]
    return LinearTextModel.from_arrays(classes, blocks, idf, coefficients, intercepts, heads)


def _head(model: Any, columns: int) -> tuple[list[str], list[list[float]], list[float]]:
    classes = [str(c) for c in model.classes_]
    coefficients = [[float(w) for w in row] for row in model.coef_]
    intercepts = [float(b) for b in model.intercept_]
    if any(len(row) != columns for row in coefficients):
        raise ExportError(f"the model's columns are not the features' {columns}")
    if len(classes) == 2 and len(coefficients) == 1:
        # scikit-learn's binary model: p(second) = sigmoid(z) = softmax([0, z])[1]
        coefficients = [[0.0] * columns, coefficients[0]]
        intercepts = [0.0, intercepts[0]]
    return classes, coefficients, intercepts


def _block(name: str, vectorizer: Any, first_column: int) -> tuple[Block, list[float]]:
    params = vectorizer.get_params()
    changed = [key for key, value in _DEFAULTS.items() if params[key] != value]
    analyzer = params["analyzer"]
    if analyzer not in (WORD, CHAR_WB):
        changed.append("analyzer")
    if params["norm"] not in ("l2", None):
        changed.append("norm")
    if changed:
        raise ExportError(f"{name}: cannot export the options {', '.join(changed)}")
    terms: dict[str, int] = {str(t): int(i) for t, i in vectorizer.vocabulary_.items()}
    if sorted(terms.values()) != list(range(len(terms))):
        raise ExportError(f"{name}: the vocabulary's columns are not 0..n-1")
    idf = vectorizer.idf_ if params["use_idf"] else [1.0] * len(terms)
    block = Block(
        analyzer=analyzer,
        ngram_range=(int(params["ngram_range"][0]), int(params["ngram_range"][1])),
        token_pattern=re.compile(params["token_pattern"]) if analyzer == WORD else None,
        lowercase=bool(params["lowercase"]),
        sublinear_tf=bool(params["sublinear_tf"]),
        l2_norm=params["norm"] == "l2",
        terms={term: first_column + column for term, column in terms.items()},
    )
    return block, [float(v) for v in idf]
