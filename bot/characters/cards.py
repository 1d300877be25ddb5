"""Community character cards (Character Card V2 and V3) to `characters/<id>.md`.

A card is JSON, or a PNG picture carrying that JSON base64-encoded in a text chunk (`chara` for
V2, `ccv3` for V3). Its fields map to a character file: name, a one-line description, the first
message as the greeting, and a prompt made of the card's system prompt, description,
personality, scenario and example dialogue. The file written is validated like any other
character file before it replaces anything.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bot.characters.files import CharacterFileError, is_valid_id, load_character

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SPECS = ("chara_card_v2", "chara_card_v3")
MAX_DESCRIPTION = 120
_PLACEHOLDER = re.compile(r"\{\{\s*(char|user)\s*\}\}", re.IGNORECASE)


class CardError(ValueError):
    """Not a character card, or one that cannot be imported; the message says why."""


def read_card(path: Path) -> dict[str, Any]:
    """The card's `data` object (blocking file I/O)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CardError(f"{path}: cannot read the file ({exc.strerror})") from None
    payload = _png_payload(path, raw) if raw.startswith(PNG_SIGNATURE) else raw
    try:
        card = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CardError(
            f"{path}: not a character card: expected Character Card V2/V3 JSON, or a PNG "
            "with one embedded"
        ) from None
    if not isinstance(card, dict) or card.get("spec") not in SPECS:
        raise CardError(
            f'{path}: not a Character Card V2 or V3 (its "spec" should be one of '
            f"{', '.join(SPECS)}); older V1 cards can be re-saved as V2 by most card editors"
        )
    data = card.get("data")
    if not isinstance(data, dict) or not str(data.get("name") or "").strip():
        raise CardError(f"{path}: the card has no data.name; it is malformed")
    return data


def _png_payload(path: Path, raw: bytes) -> bytes:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw)) as image:
            text: dict[str, str] = dict(getattr(image, "text", {}) or {})
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise CardError(f"{path}: a damaged PNG ({exc})") from None
    encoded = text.get("ccv3") or text.get("chara")
    if not encoded:
        raise CardError(
            f"{path}: this PNG carries no character card (no 'chara' or 'ccv3' text chunk); "
            "export the card from its editor as a PNG card or as JSON"
        )
    try:
        return base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        raise CardError(f"{path}: the embedded card is not valid base64") from None


def character_file(data: dict[str, Any], character_id: str) -> str:
    """The text of `characters/<character_id>.md` for a card's data."""
    name = _text(data, "name")

    def fill(value: str) -> str:
        return _PLACEHOLDER.sub(
            lambda m: name if m.group(1).lower() == "char" else "the user", value
        )

    summary = _text(data, "creator_notes") or _text(data, "description") or name
    summary = " ".join(fill(summary).split())
    if len(summary) > MAX_DESCRIPTION:
        summary = summary[: MAX_DESCRIPTION - 1].rstrip() + "…"
    greeting = fill(_text(data, "first_mes")) or f"Hello! I am {name}."
    parts = [fill(_text(data, "system_prompt")) or f"You are {name}. Stay in character."]
    for label, key in (
        ("Character", "description"),
        ("Personality", "personality"),
        ("Scenario", "scenario"),
    ):
        value = fill(_text(data, key))
        if value:
            parts.append(f"{label}:\n{value}")
    examples = fill(_text(data, "mes_example")).replace("<START>", "").strip()
    if examples:
        parts.append(f"Example dialogue (style only; do not repeat it):\n{examples}")
    tags = [str(t) for t in data.get("tags") or [] if str(t).strip()][:10]
    meta: dict[str, Any] = {
        "id": character_id,
        "name": {"en": name, "ru": name},
        "description": {"en": summary, "ru": summary},
        "greeting": {"en": greeting, "ru": greeting},
    }
    if tags:
        meta["tags"] = tags
    meta["routing"] = False
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=100)
    body = "\n\n".join(parts)
    return f"---\n{front}---\n{body}\n"


def suggested_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:40].strip("_")
    return slug if slug and is_valid_id(slug) else "character"


def import_card(
    path: Path, directory: Path, *, character_id: str | None = None, overwrite: bool = False
) -> Path:
    """Write `directory/<id>.md` from the card at `path`; returns the file written."""
    data = read_card(path)
    target_id = character_id or suggested_id(_text(data, "name"))
    if not is_valid_id(target_id):
        raise CardError(
            f"--id {target_id!r}: use lowercase letters, digits, '_' or '-' (at most 40)"
        )
    target = directory / f"{target_id}.md"
    if target.exists() and not overwrite:
        raise CardError(
            f"{target} already exists; choose another --id or pass --force to replace it"
        )
    text = character_file(data, target_id)
    _validate(text, target_id)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{target_id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp_name, target)  # atomic: a watching bot never sees half a file
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def _validate(text: str, character_id: str) -> None:
    """The converted card must load like any character file before it is written."""
    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch) / f"{character_id}.md"
        probe.write_text(text, encoding="utf-8")
        try:
            load_character(probe)
        except CharacterFileError as exc:
            raise CardError(f"the converted card is not a valid character file: {exc}") from None


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""
