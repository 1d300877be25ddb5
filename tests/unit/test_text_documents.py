"""Text documents: encodings (Russian code pages included), binary refused, DOCX extracted."""

from __future__ import annotations

import codecs
import io
import random
import struct
import time
import zipfile

import docx
import pytest
from docx.document import Document as DocxDocument

from bot.documents.text import (
    DOCX_MAX_UNCOMPRESSED_BYTES,
    TEXT_EXTENSIONS,
    DecodedText,
    TextRejectedError,
    decode_text,
    docx_text,
)

SHORT_RUSSIAN = "Привет, мир! Это проверка кодировки."
LONG_RUSSIAN = (
    "Добрый день!\r\n"
    "В этом письме мы проверяем, как бот читает текстовые файлы в кодировке Windows-1251.\r\n"
    "Пользователи часто присылают такие файлы: отчёты, заметки, списки покупок — «как есть».\r\n"
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Ёжик в тумане, № 5.\r\n"
    "ВАЖНО: итоговая сумма — 1 250 рублей.\r\n"
    "Спасибо!\r\n"
)


def test_long_russian_sample_is_about_300_characters() -> None:
    assert 280 <= len(LONG_RUSSIAN) <= 400


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param("Hello, мир\n".encode(), DecodedText("Hello, мир\n", "utf-8"), id="utf-8"),
        pytest.param(
            codecs.BOM_UTF8 + "Привет".encode(), DecodedText("Привет", "utf-8-sig"), id="utf-8-sig"
        ),
        pytest.param("Привет".encode("utf-16"), DecodedText("Привет", "utf-16"), id="utf-16"),
        pytest.param(
            codecs.BOM_UTF16_BE + "Привет".encode("utf-16-be"),
            DecodedText("Привет", "utf-16"),
            id="utf-16-be",
        ),
        pytest.param(
            codecs.BOM_UTF32_LE + "Привет".encode("utf-32-le"),
            DecodedText("Привет", "utf-32"),
            id="utf-32-le",
        ),
        pytest.param(
            codecs.BOM_UTF32_BE + "Привет".encode("utf-32-be"),
            DecodedText("Привет", "utf-32"),
            id="utf-32-be",
        ),
    ],
)
def test_unicode_with_and_without_byte_order_marks(data: bytes, expected: DecodedText) -> None:
    assert decode_text(data) == expected


def test_short_cp1251_russian() -> None:
    assert decode_text(SHORT_RUSSIAN.encode("cp1251")) == DecodedText(SHORT_RUSSIAN, "cp1251")


def test_long_cp1251_russian() -> None:
    decoded = decode_text(LONG_RUSSIAN.encode("cp1251"))

    assert decoded == DecodedText(LONG_RUSSIAN.replace("\r\n", "\n"), "cp1251")


@pytest.mark.parametrize("text", ["Да", "Привет", "ПРИВЕТ", "привет", "Ёлка на снегу"])
def test_very_short_cp1251_words(text: str) -> None:
    assert decode_text(text.encode("cp1251")) == DecodedText(text, "cp1251")


@pytest.mark.parametrize("encoding", ["koi8-r", "cp866"])
def test_other_russian_code_pages(encoding: str) -> None:
    text = "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю."

    assert decode_text(text.encode(encoding)) == DecodedText(text, encoding)


def test_russian_comments_in_code() -> None:
    source = "def total(items):\n    # Считаем сумму заказа\n    return sum(items)\n"

    assert decode_text(source.encode("cp1251")) == DecodedText(source, "cp1251")


@pytest.mark.parametrize(
    "text",
    ["It’s a “test” — ok", "Price: 5 €", "Der Bär läuft über die Straße.", "naïve résumé"],
)
def test_short_windows_1252(text: str) -> None:
    assert decode_text(text.encode("cp1252")) == DecodedText(text, "cp1252")


def test_polish_cp1250_is_not_taken_for_cp1252() -> None:
    text = "Zażółć gęślą jaźń"

    assert decode_text(text.encode("cp1250")).text == text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("你好世界，今天天气很好。我们去公园散步吧。", "gbk"),
        ("Καλημέρα κόσμε, τι κάνεις;", "cp1253"),
    ],
)
def test_other_scripts_are_left_to_charset_normalizer(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)).text == text


def test_newlines_are_normalised() -> None:
    decoded = decode_text(b"one\r\ntwo\rthree\nfour")

    assert decoded.text == "one\ntwo\nthree\nfour"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", id="png-header"),
        pytest.param("Привет".encode("utf-16-le"), id="utf-16-without-bom"),
        pytest.param(b"text\x00with a NUL", id="nul"),
        pytest.param(bytes(range(1, 32)) * 20 + b"abc", id="control-characters"),
        pytest.param(random.Random(7).randbytes(4096).replace(b"\x00", b"\x01"), id="random-bytes"),
    ],
)
def test_binary_is_refused(data: bytes) -> None:
    with pytest.raises(TextRejectedError) as caught:
        decode_text(data)

    assert caught.value.reason == "binary"


@pytest.mark.parametrize(
    "data",
    [b"", b"  \n\t\r\n ", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\n", " \n".encode("utf-16")],
)
def test_empty_is_refused(data: bytes) -> None:
    with pytest.raises(TextRejectedError) as caught:
        decode_text(data)

    assert caught.value.reason == "empty"


def test_broken_utf16_after_a_bom_is_unreadable() -> None:
    with pytest.raises(TextRejectedError) as caught:
        decode_text(codecs.BOM_UTF16_LE + b"a\x00\x00\xd8")  # a lone surrogate

    assert caught.value.reason == "unreadable"


def test_text_extensions_are_lower_case_and_not_binary() -> None:
    assert {".txt", ".md", ".csv", ".json", ".py", ".srt", ".html"} <= TEXT_EXTENSIONS
    assert all(ext.startswith(".") and ext == ext.lower() for ext in TEXT_EXTENSIONS)
    assert not {".pdf", ".docx", ".doc", ".png", ".zip", ".exe", ".xlsx"} & TEXT_EXTENSIONS


def docx_bytes(document: DocxDocument) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def sample_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Sales grew in the north.")
    document.add_paragraph("")
    document.add_paragraph("Итоги квартала.")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows, [("Region", "Q1", "Q2"), ("North", "10", "12")], strict=False
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = table.cell(2, 0).merge(table.cell(2, 1))
    merged.text = "Total"
    table.cell(2, 2).text = "22"
    document.add_paragraph("The end.")
    return docx_bytes(document)


def test_docx_keeps_headings_paragraphs_and_tables_in_order() -> None:
    text = docx_text(sample_docx())

    assert text == (
        "Quarterly report\n"
        "Sales grew in the north.\n"
        "\n"
        "Итоги квартала.\n"
        "Region | Q1 | Q2\n"
        "North | 10 | 12\n"
        "Total | 22\n"
        "The end."
    )


def test_empty_docx_is_empty() -> None:
    with pytest.raises(TextRejectedError) as caught:
        docx_text(docx_bytes(docx.Document()))

    assert caught.value.reason == "empty"


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def with_declared_size(data: bytes, size: int) -> bytes:
    """Patch every central-directory entry to declare `size` uncompressed bytes."""
    patched = bytearray(data)
    start = 0
    while (start := patched.find(b"PK\x01\x02", start)) != -1:
        patched[start + 24 : start + 28] = struct.pack("<I", size)
        start += 4
    return bytes(patched)


def corrupt_document_xml() -> bytes:
    with zipfile.ZipFile(io.BytesIO(sample_docx())) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members["word/document.xml"] = b"<w:document><unclosed>"
    return zip_of(members)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Just some text, not a zip.", id="not-a-zip"),
        pytest.param(b"", id="empty-bytes"),
        pytest.param(sample_docx()[:2000], id="truncated"),
        pytest.param(zip_of({"notes.txt": b"hello"}), id="zip-but-not-docx"),
        pytest.param(corrupt_document_xml(), id="corrupt-xml"),
    ],
)
def test_non_docx_is_unreadable(data: bytes) -> None:
    with pytest.raises(TextRejectedError) as caught:
        docx_text(data)

    assert caught.value.reason == "unreadable"


def test_zip_declaring_huge_members_is_refused_before_opening() -> None:
    bomb = with_declared_size(sample_docx(), 0xF000_0000)
    assert sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(bomb)).infolist()) > (
        DOCX_MAX_UNCOMPRESSED_BYTES
    )

    started = time.perf_counter()
    with pytest.raises(TextRejectedError) as caught:
        docx_text(bomb)

    assert caught.value.reason == "unreadable"
    assert "zip members declare" in str(caught.value)
    assert time.perf_counter() - started < 0.5
