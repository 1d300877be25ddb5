"""The classifier's cache file: a LinearTextModel, without pickle.

Three parts: a line naming the format, a line of JSON (classes, their heads, intercepts, the
blocks with their terms in column order, the owner's metadata), then the packed rows (lanes.py)
as fixed-size little-endian integers. Reading it runs no code and needs no scikit-learn: a few
tens of milliseconds for the shipped routes' ~64 000 terms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bot.textclass import lanes
from bot.textclass.textmodel import Block, LinearTextModel, ModelFormatError

FORMAT = b"linear-text-model/1"


def dumps(model: LinearTextModel, meta: Mapping[str, Any] | None = None, **about: str) -> bytes:
    """`meta`: JSON its owner reads back (loads_with_meta); `about`: informative fields (what
    trained it), not read back."""
    header = {
        "about": about,
        "meta": dict(meta or {}),
        "classes": list(model.classes),
        "heads": list(model.heads),
        "intercepts": list(model.intercepts),
        "scale_bits": model.scale_bits,
        "columns": len(model.rows),
        "blocks": [_block_document(block) for block in model.blocks],
    }
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    rows = lanes.to_bytes(model.rows, len(model.classes) + 1)
    return b"\n".join([FORMAT, text, rows])


def loads(data: bytes) -> LinearTextModel:
    return loads_with_meta(data)[0]


def loads_with_meta(data: bytes) -> tuple[LinearTextModel, dict[str, Any]]:
    """The model and the `meta` it was written with (files without one: {})."""
    try:
        magic, _, rest = data.partition(b"\n")
        if magic != FORMAT:
            raise ModelFormatError(f"not a {FORMAT.decode()} file")
        text, _, _ = rest.partition(b"\n")
        header: dict[str, Any] = json.loads(text)
        classes = [str(c) for c in header["classes"]]
        start = len(magic) + len(text) + 2
        rows = lanes.from_bytes(memoryview(data)[start:], len(classes) + 1)
        if len(rows) != header["columns"]:
            raise ModelFormatError(f"{len(rows)} rows where {header['columns']} were written")
        model = LinearTextModel(
            classes=classes,
            blocks=[_block(b) for b in header["blocks"]],
            rows=rows,
            scale_bits=int(header["scale_bits"]),
            intercepts=[float(b) for b in header["intercepts"]],
            heads=[int(n) for n in header.get("heads", [len(classes)])],
        )
        meta = header.get("meta", {})
        if not isinstance(meta, dict):
            raise ModelFormatError("the metadata is not an object")
        return model, meta
    except ModelFormatError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, re.error) as exc:
        raise ModelFormatError(f"unreadable model: {exc!r}") from None


def _block_document(block: Block) -> dict[str, Any]:
    terms = sorted(block.terms, key=block.terms.__getitem__)
    first = block.terms[terms[0]] if terms else 0
    if terms and block.terms[terms[-1]] != first + len(terms) - 1:
        raise ModelFormatError("a block's columns must be consecutive")
    pattern = block.token_pattern
    return {
        "analyzer": block.analyzer,
        "ngram_range": list(block.ngram_range),
        "token_pattern": None if pattern is None else pattern.pattern,
        "lowercase": block.lowercase,
        "sublinear_tf": block.sublinear_tf,
        "l2_norm": block.l2_norm,
        "first_column": first,
        "terms": terms,
    }


def _block(data: Mapping[str, Any]) -> Block:
    low, high = (int(n) for n in data["ngram_range"])
    pattern = data["token_pattern"]
    first = int(data["first_column"])
    terms = data["terms"]
    if not all(isinstance(term, str) for term in terms):
        raise ModelFormatError("terms must be strings")
    return Block(
        analyzer=str(data["analyzer"]),
        ngram_range=(low, high),
        token_pattern=None if pattern is None else re.compile(str(pattern)),
        lowercase=bool(data["lowercase"]),
        sublinear_tf=bool(data["sublinear_tf"]),
        l2_norm=bool(data["l2_norm"]),
        terms=dict(zip(terms, range(first, first + len(terms)), strict=True)),
    )
