"""The classifier's plain-Python form against the scikit-learn pipeline it is exported from:
the same terms, the same probabilities on the held-out messages, a file that reads back."""

from __future__ import annotations

import json
import math
import pickle
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.routing.classifier import fit_pipeline
from bot.routing.routes import MAX_ROUTED_CHARS, load_routes
from bot.textclass import lanes, modelfile
from bot.textclass.export import ExportError, export_pipeline
from bot.textclass.ngrams import char_wb_ngrams, word_ngrams
from bot.textclass.text import normalize
from bot.textclass.textmodel import LinearTextModel, ModelFormatError

PROJECT_ROOT = Path(__file__).parents[2]
HELD_OUT = sorted((PROJECT_ROOT / "tests" / "data").glob("routes_holdout*.jsonl"))
AWKWARD = [
    "",
    "   ",
    "a",
    "я",
    "a b c",
    "tab\tand\nnew line  and   spaces",
    "emoji 🙂🙂 and ½ and ß",
    "смесь русского и english в одном",
    "x" * 40,
    "ab ab ab ab ab",
    "#code  why ; is ;; this --- slow???",
]


@pytest.fixture(scope="module")
def messages() -> list[str]:
    texts = [
        json.loads(line)["text"][:MAX_ROUTED_CHARS]
        for path in HELD_OUT
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(texts) >= 1000
    return [normalize(t) for t in [*texts, *AWKWARD]]


@pytest.fixture(scope="module")
def pipeline() -> Any:
    texts, labels, _ = load_routes(PROJECT_ROOT / "routes").training_data()
    return fit_pipeline(texts, labels)


@pytest.fixture(scope="module")
def model(pipeline: Any) -> LinearTextModel:
    return export_pipeline(pipeline)


def test_terms_are_cut_as_scikit_learn_cuts_them(
    pipeline: Any, model: LinearTextModel, messages: list[str]
) -> None:
    words, chars = (v for _, v in pipeline.named_steps["features"].transformer_list)
    tokens = re.compile(words.token_pattern)
    word_analyzer, char_analyzer = words.build_analyzer(), chars.build_analyzer()
    for text in messages:
        assert word_ngrams(tokens.findall(text), 1, 2) == word_analyzer(text), text
        assert Counter(char_wb_ngrams(text, 2, 5)) == Counter(char_analyzer(text)), text
    # The exported blocks find the same columns (the union numbers the chars after the words).
    offset = 0
    for block, vectorizer in zip(model.blocks, (words, chars), strict=True):
        analyzer, vocabulary = vectorizer.build_analyzer(), vectorizer.vocabulary_
        for text in messages:
            terms = [offset + vocabulary[t] for t in analyzer(text) if t in vocabulary]
            assert block.counts(text) == Counter(terms), text
        offset += len(vocabulary)


def test_the_exported_model_gives_the_pipelines_probabilities(
    pipeline: Any, model: LinearTextModel, messages: list[str]
) -> None:
    expected = pipeline.predict_proba(messages)
    assert model.classes == tuple(pipeline.classes_)
    for text, row in zip(messages, expected, strict=True):
        ours = model.probabilities(text)
        assert ours == pytest.approx(list(row), abs=1e-9), text
        assert _ranking(ours) == _ranking(list(row)), text


def test_a_model_reads_back_from_its_file_and_through_pickle(
    model: LinearTextModel, messages: list[str]
) -> None:
    from_file = modelfile.loads(modelfile.dumps(model, trainer="test"))
    pickled = pickle.loads(pickle.dumps(model))  # how a training child process hands it over
    for text in messages[:200]:
        expected = model.probabilities(text)
        assert from_file.probabilities(text) == expected
        assert pickled.probabilities(text) == expected


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: b"linear-text-model/0" + data[len(b"linear-text-model/1") :],
        lambda data: data.replace(b'"classes":[', b'"classes":7,[', 1),
        lambda data: b"\x80\x04not a model at all",  # an old pickled cache
        lambda data: b"",
    ],
)
def test_a_damaged_or_foreign_file_is_refused(model: LinearTextModel, damage: Any) -> None:
    with pytest.raises(ModelFormatError):
        modelfile.loads(damage(modelfile.dumps(model)))


def test_a_two_route_model_matches_scikit_learns_binary_probabilities() -> None:
    texts = ["hello there", "hi friend", "good morning", "fix my python code", "git error"]
    labels = ["chat", "chat", "chat", "code", "code"]
    pipeline = fit_pipeline(texts * 3, labels * 3)
    model = export_pipeline(pipeline)
    probes = [normalize(t) for t in ["hello", "python git", "my code says hi", "zzz"]]
    for text, row in zip(probes, pipeline.predict_proba(probes), strict=True):
        assert model.probabilities(text) == pytest.approx(list(row), abs=1e-9)


def test_two_heads_over_one_union_give_each_models_probabilities() -> None:
    """The content filter's shape: a binary model and a multinomial one on the same features,
    each head with its own softmax; the file keeps the heads and the owner's metadata."""
    from sklearn.linear_model import LogisticRegression

    from bot.textclass import training
    from bot.textclass.export import export

    texts = ["bet on tennis", "casino tonight", "buy pills", "cook rice", "fix my code", "odds"]
    union = training.features()
    matrix = union.fit_transform(texts * 2)
    flag = LogisticRegression(class_weight={True: 2.0, False: 1.0})
    flag.fit(matrix, [True, True, True, False, False, True] * 2)
    topic = LogisticRegression().fit(matrix[[0, 1, 2, 5]], ["gambling", "gambling", "drugs", "x"])
    model = export(union, [flag, topic])
    assert (model.classes, model.heads) == (("False", "True", "drugs", "gambling", "x"), (2, 3))
    probes = ["bet on pills", "rice", "", "casino casino odds"]
    reread, meta = modelfile.loads_with_meta(modelfile.dumps(model, meta={"k": [1]}))
    assert (reread.heads, meta) == ((2, 3), {"k": [1]})
    vectors = union.transform(probes)
    rows = zip(flag.predict_proba(vectors), topic.predict_proba(vectors), strict=True)
    for text, (flags, topics) in zip(probes, rows, strict=True):
        expected = [*flags, *topics]
        assert model.probabilities(text) == pytest.approx(expected, abs=1e-9), text
        assert reread.probabilities(text) == model.probabilities(text)


def test_other_vectorizer_settings_export_faithfully() -> None:
    """Lower-casing, raw term counts, scikit-learn's default token pattern, no IDF, no norm."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    vectorizers = [
        ("words", TfidfVectorizer(ngram_range=(1, 3))),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), use_idf=False)),
        ("raw", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 1), norm=None)),
    ]
    pipeline = Pipeline(
        [("features", FeatureUnion(vectorizers)), ("model", LogisticRegression(C=5))]
    )
    texts = ["Hello There", "HI friend hi", "Fix My Code", "GIT error in code", "Привет Мир"]
    pipeline.fit(texts * 2, ["chat", "chat", "code", "code", "chat"] * 2)
    model = export_pipeline(pipeline)
    probes = ["HELLO hello Hello", "my CODE, my code", "мир Мир МИР", "", "x"]
    for text, row in zip(probes, pipeline.predict_proba(probes), strict=True):
        assert model.probabilities(text) == pytest.approx(list(row), abs=1e-9), text


def test_pipelines_with_options_the_export_cannot_repeat_are_refused() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    for vectorizer in (
        TfidfVectorizer(analyzer="char", ngram_range=(2, 3)),
        TfidfVectorizer(stop_words=["the"]),
        TfidfVectorizer(norm="l1"),
    ):
        pipeline = Pipeline(
            [("features", FeatureUnion([("v", vectorizer)])), ("model", LogisticRegression())]
        )
        pipeline.fit(["the cat sat", "a dog ran", "the dog sat"], ["a", "b", "a"])
        with pytest.raises(ExportError):
            export_pipeline(pipeline)


def test_packed_lanes_add_many_values_exactly() -> None:
    rng = random.Random(7)
    largest, count = 60.0, 5000
    scale = lanes.scale_bits_for(largest, count)
    columns = [[rng.uniform(-largest, largest) for _ in range(8)] for _ in range(count)]
    columns[0] = [largest] * 8  # the extremes must not spill into the next lane
    columns[1] = [-largest] * 8
    total = sum(lanes.pack(column, scale) for column in columns)
    decoded = lanes.unpack(total, 8, scale)
    for lane, values in enumerate(zip(*columns, strict=True)):
        assert decoded[lane] == pytest.approx(math.fsum(values), abs=count * 2.0**-scale)
    stored = lanes.from_bytes(lanes.to_bytes([total, -total, 0], 9), 9)
    assert stored == [total, -total, 0]


def test_all_columns_at_the_largest_value_still_fit_in_a_lane() -> None:
    scale = lanes.scale_bits_for(43.0, 64_000)
    one = lanes.pack([43.0, -43.0, 0.5], scale)
    assert lanes.unpack(one * 64_000, 3, scale) == pytest.approx(
        [43.0 * 64_000, -43.0 * 64_000, 32_000.0]
    )
    with pytest.raises(ValueError, match="do not fit"):
        lanes.scale_bits_for(1e12, 10**9)


def _ranking(probabilities: list[float]) -> list[int]:
    """Class indices from the most likely (ties in index order, as `scores` sorts them)."""
    return sorted(range(len(probabilities)), key=lambda i: (-probabilities[i], i))
