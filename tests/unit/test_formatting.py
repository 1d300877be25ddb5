"""Markdown to Telegram text + entities, and splitting at 4096 UTF-16 code units."""

from __future__ import annotations

from bot.telegram.formatting import (
    MESSAGE_LIMIT,
    Chunk,
    plain_fallback,
    render_markdown,
    render_plain,
    utf16_len,
)


def assert_valid(chunks: list[Chunk]) -> None:
    for chunk in chunks:
        length = utf16_len(chunk.text)
        assert 0 < length <= MESSAGE_LIMIT
        for entity in chunk.entities:
            assert entity.offset >= 0
            assert entity.length > 0
            assert entity.offset + entity.length <= length


def test_markdown_becomes_entities() -> None:
    [chunk] = render_markdown("**Bold** and `code` and [a link](https://example.com)")
    assert chunk.text == "Bold and code and a link"
    kinds = {(e.type, chunk.text[e.offset : e.offset + e.length]) for e in chunk.entities}
    assert kinds == {("bold", "Bold"), ("code", "code"), ("text_link", "a link")}


def test_offsets_count_utf16_units_for_emoji() -> None:
    [chunk] = render_markdown("😀😀 **x**")
    [bold] = chunk.entities
    assert (bold.offset, bold.length) == (5, 1)  # each emoji is two UTF-16 units


def test_twelve_thousand_characters_split_into_valid_messages() -> None:
    paragraph = "Some **bold** words and a `snippet` in a paragraph of text. " * 8
    markdown = "\n\n".join([paragraph] * 30)
    chunks = render_markdown(markdown)
    assert len(chunks) >= 3
    assert_valid(chunks)
    total = sum(len(c.text) for c in chunks)
    assert total >= len(markdown) - markdown.count("**") * 2 - markdown.count("`") - 200


def test_code_block_spanning_a_split_keeps_its_entity_in_both_parts() -> None:
    code = "\n".join(f"line_{i} = {i}" for i in range(700))
    chunks = render_markdown(f"Intro\n\n```python\n{code}\n```")
    assert len(chunks) >= 2
    assert_valid(chunks)
    assert all(any(e.type == "pre" for e in c.entities) for c in chunks)


def test_astral_text_splits_by_utf16_not_characters() -> None:
    chunks = render_plain("😀" * 3000)  # 6000 UTF-16 units
    assert [utf16_len(c.text) for c in chunks] == [4096, 1904]


def test_plain_fallback_keeps_link_targets_visible() -> None:
    [chunk] = render_markdown("See [the docs](https://example.com/docs) now")
    [plain] = plain_fallback(chunk)
    assert plain.entities == []
    assert plain.text == "See the docs (https://example.com/docs) now"


def test_whitespace_only_renders_nothing() -> None:
    assert render_plain("   \n ") == []


def test_a_long_answer_splits_at_a_paragraph_break() -> None:
    paragraphs = [f"Paragraph {n}: " + "words and more words " * 30 for n in range(12)]
    chunks = render_markdown("\n\n".join(paragraphs))
    assert len(chunks) >= 2
    for chunk in chunks:
        assert chunk.text.startswith("Paragraph ")
        assert chunk.text.endswith("words")  # a whole paragraph, nothing cut off
        assert utf16_len(chunk.text) > MESSAGE_LIMIT // 2  # not a short paragraph on its own


def test_a_paragraph_longer_than_a_message_splits_at_a_sentence_end() -> None:
    paragraph = " ".join(f"This is sentence{n} of one long paragraph." for n in range(300))
    chunks = render_plain(paragraph)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert chunk.text.startswith("This is sentence")
        assert chunk.text.endswith("paragraph.")


def test_text_without_sentences_splits_between_words_never_inside_one() -> None:
    words = [f"word{n}" for n in range(2000)]
    chunks = render_plain(" ".join(words))
    assert " ".join(c.text for c in chunks).split() == words  # every word whole


def test_a_link_is_never_cut_in_two() -> None:
    filler = "x" * 4088  # "a link" would still fit, "a link text" would not
    [first, second] = render_markdown(f"{filler} [a link text](https://example.com/page) after")
    assert first.text == filler
    [link] = second.entities
    assert second.text[link.offset : link.offset + link.length] == "a link text"
    assert link.url == "https://example.com/page"


def test_every_prefix_of_a_streamed_answer_splits_between_words() -> None:
    text = " ".join(f"token{n}" for n in range(1200))  # about 9000 characters
    for end in range(4000, len(text), 997):
        for chunk in render_markdown(text[:end])[:-1]:  # the last part is still growing
            assert not chunk.text[-1].isspace()
            assert text[:end].find(chunk.text + " ") >= 0  # it ends where a word ends
