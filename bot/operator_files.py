"""Files operators edit (routes, characters, moderation topics): Markdown with YAML front
matter, validated by a pydantic model, every mistake reported as "file: field: fix"."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import frontmatter
import yaml
from pydantic import AfterValidator, BaseModel, ValidationError

Meta = TypeVar("Meta", bound=BaseModel)
Item = TypeVar("Item")


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


def load_folder(directory: Path, load: Callable[[Path], Item]) -> tuple[list[Item], str]:
    """Every `*.md` file of the folder loaded, in name order, and a hash of their names and
    contents (what a classifier trained on their examples depends on)."""
    paths = sorted(directory.glob("*.md"))
    items = [load(path) for path in paths]
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return items, digest.hexdigest()[:16]


def every_language(languages: Sequence[str], what: str) -> AfterValidator:
    """A field's validator: "add <what> for <the languages left empty>"."""

    def check(value: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in languages if not value.get(lang, "").strip()]
        if missing:
            raise ValueError(f"add {what} for {', '.join(missing)}")
        return value

    return AfterValidator(check)


def examples_per_language(languages: Sequence[str], minimum: int, which: str) -> AfterValidator:
    """A field's validator: the texts stripped, blank ones left out; an error when a language
    has fewer than `minimum` or one twice. `which` says what to write ("texts in {language}")."""

    def check(value: dict[str, list[str]]) -> dict[str, list[str]]:
        cleaned = {lang: [e.strip() for e in texts if e.strip()] for lang, texts in value.items()}
        for language in languages:
            texts = cleaned.get(language, [])
            if len(texts) < minimum:
                raise ValueError(
                    f"{language} has {len(texts)} examples; write at least {minimum} "
                    + which.format(language=language)
                )
            if len(set(texts)) != len(texts):
                raise ValueError(f"{language} lists the same example twice; remove the repeat")
        return cleaned

    return AfterValidator(check)
