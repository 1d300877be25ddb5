"""What a broadcast sends, read from the operator's message: Markdown rendered to entities,
Telegram's own formatting kept as it is, trailing link lines turned into buttons, the
length limits of a message and of a caption, and the buttons every copy carries."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram.types import MessageEntity

from bot.broadcasts.content import (
    MAX_BUTTONS,
    BroadcastContent,
    ContentError,
    read_content,
)
from bot.broadcasts.telegram import broadcast_markup
from bot.i18n import I18n
from bot.keyboards.broadcasts import Unsubscribe

LOCALES = Path(__file__).parents[2] / "locales"
PHOTO = "AgACAgIAAxkBAAIB-photo-file-id"


def entity_types(content: BroadcastContent) -> list[tuple[str, int, int]]:
    return [(e["type"], e["offset"], e["length"]) for e in content.entities]


def test_markdown_becomes_text_and_entities() -> None:
    content = read_content("**Version 2** is _out_.\nSee `/help`.", None, None)
    assert content.text == "Version 2 is out.\nSee /help."
    assert entity_types(content) == [("bold", 0, 9), ("italic", 13, 3), ("code", 22, 5)]
    assert content.buttons == []
    assert content.photo is None


def test_trailing_link_lines_become_buttons_and_other_links_stay_in_the_text() -> None:
    text = (
        "Read [the notes](https://example.com/notes) first.\n"
        "[What is new](https://example.com/v2)\n"
        "  [Our channel](https://t.me/example)  \n"
    )
    content = read_content(text, None, None)
    assert content.buttons == [
        ("What is new", "https://example.com/v2"),
        ("Our channel", "https://t.me/example"),
    ]
    assert content.text == "Read the notes first."
    assert entity_types(content) == [("text_link", 5, 9)]
    assert content.entities[0]["url"] == "https://example.com/notes"
    # Not a web link: stays a line of the message.
    kept = read_content("Hello\n[Call us](tel:+123)", None, None)
    assert (kept.buttons, kept.text) == ([], "Hello\nCall us")


def test_at_most_eight_buttons_are_taken_from_the_end() -> None:
    lines = [f"[B{i}](https://example.com/{i})" for i in range(MAX_BUTTONS + 2)]
    content = read_content("Links:\n" + "\n".join(lines), None, None)
    assert [label for label, _ in content.buttons] == [f"B{i}" for i in range(2, MAX_BUTTONS + 2)]
    assert content.text == "Links:\nB0\nB1"  # the two above the buttons stay as text


def test_a_message_formatted_in_telegram_is_sent_as_it_is() -> None:
    text = "Sale **today** only\n[Shop](https://example.com/shop)"
    entities = [MessageEntity(type="bold", offset=0, length=4)]
    content = read_content(text, entities, None)
    assert content.text == "Sale **today** only"  # asterisks are the operator's, not Markdown
    assert entity_types(content) == [("bold", 0, 4)]
    assert content.buttons == [("Shop", "https://example.com/shop")]
    # An entity inside the button lines is dropped with them.
    on_button = [*entities, MessageEntity(type="italic", offset=21, length=4)]
    assert entity_types(read_content(text, on_button, None)) == [("bold", 0, 4)]


def test_links_detected_by_the_client_do_not_count_as_formatting() -> None:
    text = "**New**: https://example.com"
    detected = [MessageEntity(type="url", offset=9, length=19)]
    content = read_content(text, detected, None)
    assert content.text == "New: https://example.com"  # rendered as Markdown
    assert ("bold", 0, 3) in entity_types(content)


def test_limits_of_a_message_and_of_a_caption() -> None:
    with pytest.raises(ContentError) as too_long:
        read_content("x" * 4097, None, None)
    assert too_long.value.key == "broadcast-too-long"
    assert len(read_content("x" * 4096, None, None).text) == 4096
    with pytest.raises(ContentError) as caption:
        read_content("x" * 1025, None, PHOTO)
    assert caption.value.key == "broadcast-too-long"
    assert read_content("x" * 1024, None, PHOTO).photo == PHOTO
    formatted = [MessageEntity(type="bold", offset=0, length=1)]
    with pytest.raises(ContentError):
        read_content("y" * 1025, formatted, PHOTO)


def test_nothing_to_send_is_refused_but_a_photo_alone_is_fine() -> None:
    with pytest.raises(ContentError) as empty:
        read_content("   \n", None, None)
    assert empty.value.key == "broadcast-empty"
    with pytest.raises(ContentError):
        read_content("[Only a button](https://example.com)", None, None)
    photo = read_content("", None, PHOTO)
    assert (photo.text, photo.photo) == ("", PHOTO)


def test_content_survives_the_database_and_carries_unsubscribe_in_the_readers_language() -> None:
    content = read_content("**Hi**\n[Site](https://example.com)", None, PHOTO)
    stored = BroadcastContent.from_json(content.to_json())
    assert stored == content
    assert [e.type for e in stored.message_entities()] == ["bold"]
    markup = broadcast_markup(stored, I18n(LOCALES, "en").translator("ru"))
    [site], [unsubscribe] = markup.inline_keyboard
    assert (site.text, site.url) == ("Site", "https://example.com")
    assert unsubscribe.text == "Отписаться от объявлений"
    assert unsubscribe.callback_data == Unsubscribe().pack()
