"""Community character cards (V2/V3, JSON or PNG built here with Pillow) become valid
character files; anything else is refused with a clear message."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from bot.__main__ import main
from bot.characters.cards import CardError, import_card
from bot.characters.files import load_character

CARD: dict[str, Any] = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Captain Mira",
        "description": "{{char}} is a retired starship captain who tells {{user}} stories.",
        "personality": "Warm, dry humour, precise about ships.",
        "scenario": "A quiet bar on a space station.",
        "first_mes": "Pull up a chair, {{user}}. I'm {{char}}.",
        "mes_example": "<START>\n{{user}}: Hi\n{{char}}: Evening, traveller.",
        "creator_notes": "A friendly sci-fi storyteller.",
        "system_prompt": "",
        "tags": ["sci-fi", "storyteller"],
    },
}


def png_card(path: Path, card: dict[str, Any] | None, key: str = "chara") -> Path:
    info = PngInfo()
    if card is not None:
        info.add_text(key, base64.b64encode(json.dumps(card).encode()).decode())
    Image.new("RGB", (4, 4), (200, 30, 30)).save(path, pnginfo=info)
    return path


def test_a_json_card_becomes_a_valid_character(tmp_path: Path) -> None:
    source = tmp_path / "mira.json"
    source.write_text(json.dumps(CARD), encoding="utf-8")
    written = import_card(source, tmp_path / "characters")
    assert written == tmp_path / "characters" / "captain_mira.md"
    character = load_character(written)
    assert character.name == {"en": "Captain Mira", "ru": "Captain Mira"}
    assert character.description["en"] == "A friendly sci-fi storyteller."
    assert character.greeting["en"] == "Pull up a chair, the user. I'm Captain Mira."
    assert "Captain Mira is a retired starship captain" in character.prompt
    assert "Personality:\nWarm, dry humour" in character.prompt
    assert "Scenario:\nA quiet bar" in character.prompt
    assert "<START>" not in character.prompt
    assert "{{" not in character.prompt
    assert character.tags == ("sci-fi", "storyteller")
    assert character.routing is False


def test_a_png_v3_card_is_read_from_its_text_chunk(tmp_path: Path) -> None:
    card = {**CARD, "spec": "chara_card_v3", "spec_version": "3.0"}
    source = png_card(tmp_path / "mira.png", card, key="ccv3")
    written = import_card(source, tmp_path, character_id="mira")
    assert load_character(written).id == "mira"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: png_card(p / "plain.png", None), "carries no character card"),
        (lambda p: _write(p / "v1.json", json.dumps({"name": "Old"})), "not a Character Card V2"),
        (lambda p: _write(p / "broken.json", '{"spec": "chara'), "not a character card"),
        (
            lambda p: _write(p / "noname.json", json.dumps({"spec": "chara_card_v2", "data": {}})),
            "no data.name",
        ),
    ],
)
def test_files_that_are_not_cards_are_refused(tmp_path: Path, make: Any, expected: str) -> None:
    source = make(tmp_path)
    with pytest.raises(CardError, match=expected):
        import_card(source, tmp_path / "characters")
    assert not (tmp_path / "characters").exists() or not list((tmp_path / "characters").iterdir())


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_command_writes_once_and_replaces_only_when_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = png_card(tmp_path / "mira.png", CARD)
    target = tmp_path / "out"
    arguments = ["characters", "import", str(source), "--dir", str(target), "--id", "mira"]
    arguments += ["--config", str(tmp_path / "none.toml")]
    assert main(arguments) == 0
    assert (target / "mira.md").is_file()
    assert main(arguments) == 2
    assert "already exists; choose another --id or pass --force" in capsys.readouterr().err
    assert main([*arguments, "--force"]) == 0
    evil = [*arguments[:3], "--dir", str(target), "--id", "../evil", *arguments[-2:]]
    assert main(evil) == 2
    assert not (tmp_path / "evil.md").exists()
