"""Files operators edit (routes, characters): Markdown with YAML front matter, validated by a
pydantic model, every mistake reported as "file: field: fix"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import frontmatter
import yaml
from pydantic import BaseModel, ValidationError

Meta = TypeVar("Meta", bound=BaseModel)


class OperatorFileError(ValueError):
    """An operator file is not valid; the message names the file, the field and the fix."""


@dataclass(frozen=True, slots=True)
class Parsed(Generic[Meta]):
    meta: Meta
    body: str  # stripped
    raw: str


def parse(path: Path, model: type[Meta], what: str, error: type[OperatorFileError]) -> Parsed[Meta]:
    """`what` names the file's fields in messages ("the route's", "the character's")."""
    try:
        raw = path.read_text(encoding="utf-8")
        post = frontmatter.loads(raw)
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        raise error(
            f"{path}: the front matter is not valid YAML ({exc}); fix the syntax there"
        ) from None
    if not post.metadata:
        raise error(
            f"{path}: no front matter; start the file with a '---' line, {what} fields in "
            "YAML, and another '---' line"
        )
    try:
        meta = model.model_validate(post.metadata)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "front matter"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field; remove it or fix its spelling"
        elif first["type"] == "missing":
            message = "this field is required; add it"
        raise error(f"{path}: {field}: {message}") from None
    return Parsed(meta, post.content.strip(), raw)


def check_id(path: Path, declared: str, error: type[OperatorFileError]) -> None:
    if declared != path.stem:
        raise error(
            f"{path}: id: '{declared}' does not match the file name; make them equal "
            f"(id: {path.stem}) or rename the file"
        )
