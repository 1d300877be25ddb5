"""The sandbox's parse_mode parsers and text checks follow Telegram's rules and wording."""

from __future__ import annotations

import pytest

from bot.sandbox.telegram.errors import ApiError
from bot.sandbox.telegram.markup_parsers import (
    ParseError,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
)
from bot.sandbox.telegram.validation import message_text

Spans = list[tuple[str, int, int]]


def spans(entities: list[dict[str, object]]) -> Spans:
    return [(str(e["type"]), int(str(e["offset"])), int(str(e["length"]))) for e in entities]


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        (
            "*bold* _it_ __under__ ~gone~ ||hidden||",
            "bold it under gone hidden",
            [
                ("bold", 0, 4),
                ("italic", 5, 2),
                ("underline", 8, 5),
                ("strikethrough", 14, 4),
                ("spoiler", 19, 6),
            ],
        ),
        ("\N{GRINNING FACE} *x*", "\N{GRINNING FACE} x", [("bold", 3, 1)]),
        (
            "`a_b*c` and ```py\nprint(1)\n```",
            "a_b*c and print(1)\n",
            [
                ("code", 0, 5),
                ("pre", 10, 9),
            ],
        ),
        ("1\\.5 \\+ 2\\!", "1.5 + 2!", []),
        ("[site](https://example.org/a_\\(b\\))", "site", [("text_link", 0, 4)]),
        ("[bad](nota-url)", "bad", []),
        (">quote line\n>second\nafter", "quote line\nsecond\nafter", [("blockquote", 0, 18)]),
        ("_a *b* c_", "a b c", [("italic", 0, 5), ("bold", 2, 1)]),
    ],
)
def test_markdown_v2_accepts_well_formed(source: str, text: str, expected: Spans) -> None:
    parsed, entities = parse_markdown_v2(source)
    assert parsed == text
    assert spans(entities) == expected


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Hello.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("a - b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("ok *bold", "Can't find end of Bold entity at byte offset 3"),
        ("\N{GRINNING FACE} _it", "Can't find end of Italic entity at byte offset 5"),
        ("```python\ncode", "Can't find end of PreCode entity at byte offset 0"),
        ("[x](https://e.org", "Can't find end of a URL at byte offset 4"),
        ("mid > line", "Character '>' is reserved and must be escaped with the preceding '\\'"),
    ],
)
def test_markdown_v2_rejects_malformed(source: str, error: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_markdown_v2(source)
    assert str(caught.value) == error


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        (
            "<b>bold</b> <i>it</i> <u>u</u> <s>s</s>",
            "bold it u s",
            [
                ("bold", 0, 4),
                ("italic", 5, 2),
                ("underline", 8, 1),
                ("strikethrough", 10, 1),
            ],
        ),
        (
            '<a href="https://example.org">x</a> &lt;tag&gt; &amp;',
            "x <tag> &",
            [
                ("text_link", 0, 1),
            ],
        ),
        ('<pre><code class="language-py">x = 1</code></pre>', "x = 1", [("pre", 0, 5)]),
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            [
                ("spoiler", 0, 1),
                ("spoiler", 1, 1),
            ],
        ),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ("1 > 0 &unknown; &#128512;", "1 > 0 &unknown; \N{GRINNING FACE}", []),
    ],
)
def test_html_accepts_well_formed(source: str, text: str, expected: Spans) -> None:
    parsed, entities = parse_html(source)
    assert parsed == text
    assert spans(entities) == expected


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("a <br> b", 'Unsupported start tag "br" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<a href=x,y>z</a>", "Unexpected end of name token at byte offset 8"),
        ('<span class="red">r</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_html_rejects_malformed(source: str, error: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_html(source)
    assert str(caught.value) == error


def test_legacy_markdown() -> None:
    parsed, entities = parse_markdown("*b* _i_ `c` [t](https://e.org)")
    assert parsed == "b i c t"
    assert spans(entities) == [
        ("bold", 0, 1),
        ("italic", 2, 1),
        ("code", 4, 1),
        ("text_link", 6, 1),
    ]
    with pytest.raises(ParseError, match="Can't find end of the entity starting at byte offset 2"):
        parse_markdown("a *b")


def test_message_text_is_trimmed_with_its_entities() -> None:
    text, entities = message_text("\n  <b>hi</b>  there \n", "HTML", None)
    assert text == "hi  there"
    assert spans(entities) == [("bold", 0, 2)]


def test_unsupported_parse_mode() -> None:
    with pytest.raises(ApiError) as caught:
        message_text("x", "BBCode", None)
    assert caught.value.description == "Bad Request: unsupported parse_mode"
