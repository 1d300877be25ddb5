"""A trained model's cache file: read (a damaged or foreign file is refused, never trusted)
and written atomically (a read-only disk costs a retrain at the next start, nothing more)."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.textclass import modelfile
from bot.textclass.textmodel import LinearTextModel

logger = logging.getLogger(__name__)


def read(path: Path, owner: str) -> tuple[LinearTextModel, dict[str, Any]] | None:
    """The model and its metadata, or None (no file, or one that cannot be read).
    `owner` starts the log line ("routing", "moderation")."""
    if not path.is_file():
        return None
    try:
        return modelfile.loads_with_meta(path.read_bytes())
    except (OSError, ValueError):
        logger.warning("%s: ignoring unreadable classifier cache %s", owner, path)
        return None


def write(
    path: Path,
    model: LinearTextModel,
    owner: str,
    meta: Mapping[str, Any] | None = None,
    **about: str,
) -> None:
    data = modelfile.dumps(model, meta=meta, **about)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        logger.warning("%s: could not cache the classifier at %s: %s", owner, path, exc)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
