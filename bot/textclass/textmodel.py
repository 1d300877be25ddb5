"""The local classifier at run time: TF-IDF n-gram features and a linear model in plain Python.

The model is trained with scikit-learn (export.py) and exported to this form, which gives the
probabilities of the scikit-learn pipeline it came from (to float rounding) without importing
scikit-learn, SciPy or NumPy: a dictionary from term to column, the IDF and one weight row per
class packed in one int per column (lanes.py), and a softmax. Stored on disk by modelfile.py.

Most of the time goes into cutting words into character n-grams, so each word's columns are
kept for the next message that has it (a bounded cache; common words repeat all the time).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import chain, compress, repeat
from typing import Any

from bot.textclass import lanes
from bot.textclass.ngrams import padded_word_ngrams, word_ngrams

WORD, CHAR_WB = "word", "char_wb"
WORD_CACHE = 8192
"""Words whose character n-gram columns are kept (a few MB when full)."""


class ModelFormatError(ValueError):
    """A model that this code cannot run (damaged, or made by something else)."""


class Block:
    """One vectorizer of the feature union: how it cuts a text into terms, and its columns."""

    __slots__ = (
        "_word_columns",
        "analyzer",
        "l2_norm",
        "lowercase",
        "ngram_range",
        "sublinear_tf",
        "terms",
        "token_pattern",
    )

    def __init__(
        self,
        *,
        analyzer: str,
        ngram_range: tuple[int, int],
        token_pattern: re.Pattern[str] | None,  # what a word is; WORD only
        lowercase: bool,
        sublinear_tf: bool,
        l2_norm: bool,
        terms: Mapping[str, int],  # term -> column of the model (the union's numbering)
    ) -> None:
        if analyzer not in (WORD, CHAR_WB):
            raise ModelFormatError(f"unknown analyzer {analyzer!r}")
        if (analyzer == WORD) != (token_pattern is not None):
            raise ModelFormatError("a word block, and only a word block, has a token pattern")
        if not 1 <= ngram_range[0] <= ngram_range[1]:
            raise ModelFormatError(f"bad n-gram range {ngram_range}")
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.token_pattern = token_pattern
        self.lowercase = lowercase
        self.sublinear_tf = sublinear_tf
        self.l2_norm = l2_norm
        self.terms = terms
        self._word_columns = lru_cache(maxsize=WORD_CACHE)(self._columns_of_word)

    def __reduce__(self) -> tuple[Any, ...]:  # the cache stays behind (a child process trains)
        settings = (self.analyzer, self.ngram_range, self.token_pattern, self.lowercase)
        return (_block, (*settings, self.sublinear_tf, self.l2_norm, self.terms))

    def counts(self, text: str) -> Counter[int]:
        """How often each of this block's columns occurs in the text."""
        if self.lowercase:
            text = text.lower()
        if self.analyzer == CHAR_WB:
            return Counter(chain.from_iterable(map(self._word_columns, text.split())))
        assert self.token_pattern is not None  # checked in __init__
        grams = word_ngrams(self.token_pattern.findall(text), *self.ngram_range)
        counts = Counter(map(self.terms.get, grams, repeat(-1)))
        counts.pop(-1, None)  # terms the training data never had
        return counts

    def _columns_of_word(self, word: str) -> tuple[int, ...]:
        grams = padded_word_ngrams(word, *self.ngram_range)
        return tuple(c for c in map(self.terms.get, grams, repeat(-1)) if c >= 0)

    def groups(self, text: str) -> list[tuple[float, list[int]]]:
        """The text's columns in this block grouped by how often their term occurs, each group
        with its term frequency (1 + log n when sublinear): most terms occur once."""
        counts = self.counts(text)
        occurrences = list(counts.values())
        by_count = {1: list(compress(counts, map((1).__eq__, occurrences)))}
        for column, n in compress(counts.items(), map((1).__lt__, occurrences)):
            by_count.setdefault(n, []).append(column)
        tf = (lambda n: 1.0 + math.log(n)) if self.sublinear_tf else float
        return [(tf(n), columns) for n, columns in by_count.items() if columns]


def _block(
    analyzer: str,
    ngram_range: tuple[int, int],
    token_pattern: re.Pattern[str] | None,
    lowercase: bool,
    sublinear_tf: bool,
    l2_norm: bool,
    terms: Mapping[str, int],
) -> Block:
    return Block(
        analyzer=analyzer,
        ngram_range=ngram_range,
        token_pattern=token_pattern,
        lowercase=lowercase,
        sublinear_tf=sublinear_tf,
        l2_norm=l2_norm,
        terms=terms,
    )


class LinearTextModel:
    """TF-IDF blocks side by side, then multinomial linear models: one probability per class.

    The classes form consecutive heads (`heads` gives their sizes; one head by default), each
    a model of its own over the same features with its own softmax: the content filter has
    one head for "on a kept-out topic or not" and one for which topic, at the cost of one.

    `rows[column]` packs (lanes.py) the column's IDF squared (for the L2 norm of its block)
    and each class's coefficient times that IDF, as fixed-point numbers with `scale_bits`
    fraction bits. Class k's logit is its intercept plus, over the text's columns, tf times
    that weight divided by the L2 norm of the column's block."""

    __slots__ = ("blocks", "classes", "heads", "intercepts", "rows", "scale_bits")

    def __init__(
        self,
        classes: Sequence[str],
        blocks: Sequence[Block],
        rows: list[int],
        scale_bits: int,
        intercepts: Sequence[float],
        heads: Sequence[int] | None = None,
    ) -> None:
        sizes = tuple(heads) if heads is not None else (len(classes),)
        if any(size < 1 for size in sizes) or sum(sizes) != len(classes):
            raise ModelFormatError(f"heads of {sizes} classes do not divide {len(classes)}")
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        if len(classes) < 2 or any(
            len(set(classes[s : s + n])) != n for s, n in zip(starts, sizes, strict=True)
        ):
            raise ModelFormatError("at least two classes, all different in a head, are needed")
        if len(intercepts) != len(classes):
            raise ModelFormatError("one intercept per class is needed")
        if any(not 0 <= c < len(rows) for block in blocks for c in block.terms.values()):
            raise ModelFormatError("a term points outside the model's columns")
        if not 0 < scale_bits < lanes.LANE_BITS:
            raise ModelFormatError(f"bad scale {scale_bits}")
        self.classes = tuple(classes)
        self.blocks = tuple(blocks)
        self.rows = rows
        self.scale_bits = scale_bits
        self.intercepts = tuple(float(b) for b in intercepts)
        self.heads = sizes

    @classmethod
    def from_arrays(
        cls,
        classes: Sequence[str],
        blocks: Sequence[Block],
        idf: Sequence[float],
        coefficients: Sequence[Sequence[float]],
        intercepts: Sequence[float],
        heads: Sequence[int] | None = None,
    ) -> LinearTextModel:
        """`coefficients[k][column]`: class k's, as the linear model has them (IDF not in)."""
        if any(len(row) != len(idf) for row in coefficients):
            raise ModelFormatError("every class needs one coefficient per column")
        columns = [
            [weight * weight, *(row[c] * weight for row in coefficients)]
            for c, weight in enumerate(idf)
        ]
        largest = max((abs(v) for column in columns for v in column), default=1.0)
        scale_bits = lanes.scale_bits_for(largest, len(columns))
        rows = [lanes.pack(column, scale_bits) for column in columns]
        return cls(classes, blocks, rows, scale_bits, intercepts, heads)

    def probabilities(self, text: str) -> list[float]:
        """One probability per class, in the order of `classes` (each head sums to 1)."""
        logits = list(self.intercepts)
        for block in self.blocks:
            groups = block.groups(text)
            sums = [self._sums(columns) for _, columns in groups]
            norm = 1.0
            if block.l2_norm:
                squares = sum(tf * tf * s[0] for (tf, _), s in zip(groups, sums, strict=True))
                norm = math.sqrt(squares) if squares > 0.0 else 1.0
            for (tf, _), s in zip(groups, sums, strict=True):
                scale = tf / norm
                logits = [logit + scale * w for logit, w in zip(logits, s[1:], strict=True)]
        if len(self.heads) == 1:
            return _softmax(logits)
        probabilities: list[float] = []
        start = 0
        for size in self.heads:
            probabilities += _softmax(logits[start : start + size])
            start += size
        return probabilities

    def _sums(self, columns: list[int]) -> list[float]:
        """Over these columns: the sum of IDF squared, then each class's sum of weights."""
        total = sum(map(self.rows.__getitem__, columns))
        return lanes.unpack(total, len(self.classes) + 1, self.scale_bits)


def _softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(logit - top) for logit in logits]
    total = sum(exps)
    return [e / total for e in exps]
