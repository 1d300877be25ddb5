"""scikit-learn's `word` and `char_wb` analyzers in plain Python, term for term.

The classifier is trained with scikit-learn and run without it (textmodel.py), so the terms
must be cut exactly as its TfidfVectorizer cuts them; a unit test compares these functions
with scikit-learn's analyzers on the held-out messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's char analyzers normalize them


def word_ngrams(tokens: Sequence[str], low: int, high: int) -> list[str]:
    """Token n-grams joined by a space, unigrams first (scikit-learn's `_word_ngrams`)."""
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


def padded_word_ngrams(word: str, low: int, high: int) -> list[str]:
    """The character n-grams of one word padded with a space on each side; a padded word no
    longer than n gives itself once, and no longer n-grams (scikit-learn's `char_wb`)."""
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        if size <= n:
            grams.append(padded)
            break
        grams += [padded[i : i + n] for i in range(size - n + 1)]
    return grams


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's `_char_wb_ngrams`: the padded n-grams of each whitespace-separated word.
    (Its collapsing of white space changes nothing that `str.split()` would not ignore.)"""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        grams += padded_word_ngrams(word, low, high)
    return grams
