"""Text out of users' files: plain-text decoding and DOCX extraction; blocking, run in a thread.

`decode_text` tries, in order: a byte-order mark (UTF-8, UTF-16, UTF-32), strict UTF-8, the
Russian single-byte code pages, Windows-1252, and finally charset-normalizer. The code-page
steps exist because charset-normalizer guesses short texts badly: a one-line cp1251 or koi8-r
message comes back as big5, cp949 or shift_jis mojibake, and "Price: 5 €" in cp1252 as
utf-16-be. Each of cp1251, koi8-r and cp866 decodes the bytes,
and a decoding counts only when every non-ASCII character is a Cyrillic letter or common
typography, words do not mix Latin and Cyrillic letters, words are cased like words (not
"пПХБЕФ"), and the letters are the frequent ones of Russian. Texts with a single Cyrillic letter
are left to the next steps, so a lone cp1252 "à" does not become Cyrillic. Windows-1252 counts
when accented letters sit inside words with ASCII letters (Russian read as cp1252 gives words
like "Ïðèâåò" with none) and no symbol is glued between letters (Polish cp1250 read as cp1252
gives "Za¿ó³æ").

`DecodedText.encoding` is a Python codec name that decodes the original bytes ("utf-8-sig",
"utf-16", "cp1251", ...); the text has "\\n" newlines and no leading BOM.
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import charset_normalizer
import docx
from docx.opc.exceptions import OpcError
from docx.table import Table
from docx.text.paragraph import Paragraph

DOCX_MAX_UNCOMPRESSED_BYTES = 30 * 1024 * 1024  # a 20 MB upload of real text inflates far less

TEXT_EXTENSIONS: frozenset[str] = frozenset(
    {
        # prose, markup, subtitles
        *(".txt", ".text", ".md", ".markdown", ".rst", ".adoc", ".org", ".tex", ".bib"),
        *(".html", ".htm", ".xhtml", ".xml", ".srt", ".vtt", ".log"),
        # data and configuration
        *(".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".yaml", ".yml", ".toml"),
        *(".ini", ".cfg", ".conf", ".properties", ".sql", ".graphql", ".proto"),
        *(".ics", ".vcf", ".diff", ".patch"),
        # source code
        *(".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".vue", ".svelte"),
        *(".java", ".kt", ".kts", ".scala", ".groovy", ".gradle", ".go", ".rs", ".swift"),
        *(".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".cs", ".m", ".mm"),
        *(".rb", ".php", ".pl", ".pm", ".lua", ".r", ".dart", ".hs", ".ex", ".exs", ".erl"),
        *(".clj", ".jl", ".zig", ".nim", ".tf", ".hcl", ".cmake", ".mk"),
        *(".css", ".scss", ".sass", ".less"),
        *(".sh", ".bash", ".zsh", ".fish", ".ps1", ".psm1", ".bat", ".cmd"),
    }
)

# Checked longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# In order of preference when two score the same.
_CYRILLIC_CODECS = ("cp1251", "koi8-r", "cp866")
_SAMPLE_SIZE = 64 * 1024
_CYRILLIC_LETTERS = frozenset(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯіїєґўІЇЄҐЎ"
)
_TYPOGRAPHY = frozenset("«»—–…№“”„‘’•·°±§©®™€\u00a0")
_ALLOWED_NON_ASCII = _CYRILLIC_LETTERS | _TYPOGRAPHY
_FREQUENT_RUSSIAN = frozenset("оеаинтсрвлкмдпу")  # about 80% of letters in Russian prose
_MIN_CASED_SHARE = 0.8
_MIN_FREQUENT_SHARE = 0.5
_FREQUENCY_CHECK_MIN_LETTERS = 12
_WORD = re.compile(r"[^\W\d_]+")
_GLUED_SYMBOL = re.compile(r"[^\W\d_][^\x00-\x7f\w\s’‘—–][^\W\d_]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01

_DOCX_ERRORS: tuple[type[Exception], ...] = (
    OpcError,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    SyntaxError,  # lxml.etree.XMLSyntaxError
    OSError,
    EOFError,
    RuntimeError,  # encrypted zip members; NotImplementedError for odd compression
    AttributeError,
    IndexError,
    TypeError,
    struct.error,
    zlib.error,
)


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str  # a Python codec name, e.g. "utf-8", "utf-16", "cp1251"


class TextRejectedError(Exception):
    """The file gives no usable text; `reason` is stable for choosing the user's message."""

    def __init__(self, reason: Literal["binary", "empty", "unreadable"], detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Literal["binary", "empty", "unreadable"] = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type[TextRejectedError], tuple[str, str]]:
        # Raised in a document worker process: it must survive the trip back through pickle.
        return (type(self), (self.reason, self.detail))


def decode_text(data: bytes) -> DecodedText:
    """Decode a text file of unknown encoding; refuse binary data and blank text."""
    if not data.strip():
        raise TextRejectedError("empty")
    text, encoding = _decode(data)
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise TextRejectedError("empty")
    sample = text[:_SAMPLE_SIZE]
    if len(_CONTROL.findall(sample)) > _MAX_CONTROL_SHARE * len(sample):
        raise TextRejectedError("binary", f"control characters in {encoding} text")
    return DecodedText(text, encoding)


def _decode(data: bytes) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise TextRejectedError("unreadable", f"invalid {encoding}: {exc}") from exc
    if b"\x00" in data:
        raise TextRejectedError("binary", "NUL bytes without a UTF-16/32 byte-order mark")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    guess = _guess(data, _CYRILLIC_CODECS, _russian_score) or _guess(
        data, ("cp1252",), _western_score
    )
    if guess is not None:
        return guess
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise TextRejectedError("binary", "no text encoding fits")
    encoding = codecs.lookup(best.encoding).name
    if encoding.startswith(("utf-16", "utf-32")):  # without a BOM: random bytes, not text
        raise TextRejectedError("binary", f"{encoding} without a byte-order mark")
    return str(best), encoding


def _guess(
    data: bytes, encodings: tuple[str, ...], score: Callable[[str], float | None]
) -> tuple[str, str] | None:
    """Decode as the code page whose sample text scores best, if any scores at all."""
    sample = data[:_SAMPLE_SIZE]
    scored: list[tuple[float, int, str]] = []
    for preference, encoding in enumerate(encodings):
        try:
            points = score(sample.decode(encoding))
        except UnicodeDecodeError:
            continue
        if points is not None:
            scored.append((points, -preference, encoding))
    if not scored:
        return None
    _, _, encoding = max(scored)
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        return None


def _russian_score(text: str) -> float | None:
    """Return how much `text` looks like Cyrillic prose, or None if it does not at all."""
    if any(ord(char) > 0x7F and char not in _ALLOWED_NON_ASCII for char in text):
        return None
    words = [word for word in _WORD.findall(text) if not word.isascii()]
    letters = [char.lower() for word in words for char in word if char in _CYRILLIC_LETTERS]
    if len(letters) < 2:
        return None
    good = sum(
        1
        for word in words
        if _is_cased_like_a_word(word) and not any(char.isascii() for char in word)
    )
    cased_share = good / len(words)
    frequent_share = sum(1 for char in letters if char in _FREQUENT_RUSSIAN) / len(letters)
    if cased_share < _MIN_CASED_SHARE:
        return None
    if len(letters) >= _FREQUENCY_CHECK_MIN_LETTERS and frequent_share < _MIN_FREQUENT_SHARE:
        return None
    return cased_share + frequent_share


def _western_score(text: str) -> float | None:
    """Accept cp1252 text whose accented letters sit inside Latin words (not "Ïðèâåò")."""
    if _GLUED_SYMBOL.search(text):  # "Za¿ó³æ" is Polish cp1250, not cp1252
        return None
    words = [word for word in _WORD.findall(text) if not word.isascii()]
    good = sum(
        1
        for word in words
        if _is_cased_like_a_word(word) and (len(word) == 1 or any(c.isascii() for c in word))
    )
    if words and good / len(words) < _MIN_CASED_SHARE:
        return None
    return 1.0


def _is_cased_like_a_word(word: str) -> bool:
    return word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())


def docx_text(data: bytes) -> str:
    """Return a DOCX's paragraphs and tables in document order, table cells joined by " | "."""
    _check_zip_size(data)
    try:
        document = docx.Document(io.BytesIO(data))
        lines = list(_docx_lines(document.iter_inner_content()))
    except _DOCX_ERRORS as exc:
        raise TextRejectedError("unreadable", f"{type(exc).__name__}: {exc}") from exc
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        raise TextRejectedError("empty")
    return text


def _check_zip_size(data: bytes) -> None:
    """Refuse non-zips and zip bombs before python-docx inflates anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except _DOCX_ERRORS as exc:  # zipfile also raises NotImplementedError, struct.error
        raise TextRejectedError("unreadable", f"not a DOCX (zip) file: {exc}") from exc
    # zipfile never inflates a member past its declared size, so the sum is a true bound.
    total = sum(member.file_size for member in members)
    if total > DOCX_MAX_UNCOMPRESSED_BYTES:
        detail = f"zip members declare {total} bytes, over {DOCX_MAX_UNCOMPRESSED_BYTES}"
        raise TextRejectedError("unreadable", detail)


def _docx_lines(blocks: Iterator[Paragraph | Table]) -> Iterator[str]:
    for block in blocks:
        if isinstance(block, Paragraph):
            yield block.text
        else:
            yield from _table_lines(block)


def _table_lines(table: Table) -> Iterator[str]:
    for row in table.rows:
        texts: list[str] = []
        previous = None
        for cell in row.cells:
            if cell is not previous:  # a horizontally merged cell repeats the same object
                texts.append(" ".join(cell.text.split()))
            previous = cell
        if any(texts):
            yield " | ".join(texts)
