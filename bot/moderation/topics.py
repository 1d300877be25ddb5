"""Topic files: `<topics_dir>/<id>.md`, YAML front matter (name, description, examples of texts
on the topic and near misses that must pass), then optional notes for operators.

A mistake is reported with the file, the field and the fix; nothing half-valid is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot import operator_files as files

LANGUAGES = ("en", "ru")
MIN_EXAMPLES = 20
CLEAN = "none"
"""The label of texts on no topic."""
TOPIC_ID = re.compile(r"[a-z][a-z0-9_]{0,31}")


class TopicFileError(files.OperatorFileError):
    """A topic file is not valid; the message names file, field and fix."""


def _texts(minimum: int) -> AfterValidator:
    return files.examples_per_language(LANGUAGES, minimum, "texts in {language}")


class _FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: Annotated[dict[Literal["en", "ru"], str], files.every_language(LANGUAGES, "a short name")]
    description: str = Field(min_length=10)  # what the judge reads (English)
    # Texts on the topic (blocked), and near misses (allowed).
    examples: Annotated[dict[Literal["en", "ru"], list[str]], _texts(MIN_EXAMPLES)]
    allowed: Annotated[dict[Literal["en", "ru"], list[str]], _texts(0)] = Field(
        default_factory=dict
    )


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    name: Mapping[str, str]
    description: str
    examples: Mapping[str, tuple[str, ...]]
    allowed: Mapping[str, tuple[str, ...]]
    path: Path

    def title(self, locale: str) -> str:
        return self.name.get(locale) or self.name["en"]


@dataclass(frozen=True, slots=True)
class TopicBook:
    """The topics kept out, and a hash of their files (what a trained model depends on)."""

    topics: Mapping[str, Topic]
    digest: str

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.topics)

    def __bool__(self) -> bool:
        return bool(self.topics)

    def training_data(self, neutral: Iterable[str]) -> tuple[list[str], list[str]]:
        """Texts and labels (a topic id, or CLEAN for near misses and neutral texts)."""
        texts: list[str] = []
        labels: list[str] = []
        flagged: set[str] = set()
        for topic in self.topics.values():
            for examples in topic.examples.values():
                texts += examples
                labels += [topic.id] * len(examples)
                flagged.update(examples)
            for allowed in topic.allowed.values():
                texts += allowed
                labels += [CLEAN] * len(allowed)
        clean = [text for text in dict.fromkeys(neutral) if text not in flagged]
        return texts + clean, labels + [CLEAN] * len(clean)


def load_topics(directory: Path) -> TopicBook:
    """Every `*.md` file of `directory` (none: an empty book, the filter has nothing to do)."""
    if not directory.is_dir():
        raise TopicFileError(
            f"{directory}: the topics directory does not exist; set moderation.topics_dir to "
            "the folder with the topic files (the project ships examples in moderation/)"
        )
    loaded, digest = files.load_folder(directory, load_topic)
    return TopicBook({topic.id: topic for topic in loaded}, digest)


def load_topic(path: Path) -> Topic:
    if not TOPIC_ID.fullmatch(path.stem) or path.stem == CLEAN:
        raise TopicFileError(
            f"{path}: the file name must be <id>.md with an id of lowercase letters, digits "
            f"and '_' (starting with a letter, at most 32 characters, not '{CLEAN}'); rename it"
        )
    meta = files.parse(path, _FrontMatter, "the topic's", TopicFileError).meta
    files.check_id(path, meta.id, TopicFileError)
    return Topic(
        id=meta.id,
        name={str(k): v.strip() for k, v in meta.name.items()},
        description=meta.description.strip(),
        examples={lang: tuple(texts) for lang, texts in meta.examples.items()},
        allowed={lang: tuple(texts) for lang, texts in meta.allowed.items()},
        path=path,
    )
