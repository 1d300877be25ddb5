"""Builders of real test documents (PDFs made with fpdf2 and Pillow), shared by unit and e2e tests.

Every builder is deterministic: the same arguments give the same bytes, except where fpdf2
stamps a creation date or random encryption keys into the file.
"""

from __future__ import annotations

import io
import random
import textwrap
from datetime import UTC, datetime

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

FIXED_DATE = datetime(2024, 1, 1, tzinfo=UTC)

SENTENCES = (
    "Revenue in the third quarter reached {n} million euros, up {p} percent on last year.",
    "The northern warehouse shipped {n} pallets in {m} days without a single reported loss.",
    "Operating costs fell by {p} percent after the team renegotiated {m} supplier contracts.",
    "Customer support closed {n} tickets this month; the median reply time was {m} minutes.",
    "The board approved a budget of {n} thousand euros for the new training programme.",
    "Energy use per unit dropped to {m}.{p} kilowatt hours thanks to the upgraded compressors.",
    "Of the {n} survey answers, {p} percent rated the onboarding process as good or better.",
    "Two of the {m} pilot sites will move to the full rollout before the end of the year.",
    "Inventory turnover improved from {m} to {p} cycles, freeing about {n} square metres.",
    "The audit found {m} minor issues and no material weakness in the payment controls.",
    "Headcount grew to {n} employees, including {m} engineers hired in the spring campaign.",
    "Average delivery time in the southern region is now {m} days, down from {p} days.",
    "Marketing spent {n} thousand euros on trade fairs, which brought in {m} qualified leads.",
    "The software release planned for week {m} was delayed by {p} days to fix a data issue.",
    "Return rates stayed below {m} percent for the {p}th consecutive month across all lines.",
    "A new supplier in Porto delivers {n} kilograms of raw material every {m} days.",
    "Safety training covered {n} staff members, and {m} incidents were recorded in total.",
    "The cash position at the end of the period was {n} million euros, with no new debt.",
    "Management expects growth of {p} to {m} percent next year if demand remains stable.",
    "Of the {m} open risks in the register, {p} were downgraded after the latest review.",
)


def report_words(count: int, rng: random.Random) -> str:
    """About ``count`` words of varied report-like English sentences with numbers."""
    sentences: list[str] = []
    words = 0
    while words < count:
        template = SENTENCES[rng.randrange(len(SENTENCES))]
        sentence = template.format(
            n=rng.randint(10, 9999), m=rng.randint(2, 60), p=rng.randint(2, 95)
        )
        sentences.append(sentence)
        words += len(sentence.split())
    return " ".join(sentences)


def text_page_contents(pages: int, *, marker: str = "", words_per_page: int = 300) -> list[str]:
    """The text that :func:`text_pdf` writes on each page (the known source of its text)."""
    rng = random.Random(pages * 7919 + words_per_page)
    return [
        f"Page {i + 1}. {marker} {report_words(words_per_page, rng)}".replace("  ", " ")
        for i in range(pages)
    ]


def _new_pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_font("helvetica", size=10)
    pdf.set_creation_date(FIXED_DATE)
    return pdf


def text_pdf(pages: int, *, marker: str = "", words_per_page: int = 300) -> bytes:
    """A born-digital report: ``pages`` A4 pages of English text, each on its own page.

    Page ``i``'s text starts with ``f"Page {i+1}. {marker}"``. Lines are wrapped here and
    written with ``FPDF.text`` (30x faster than ``multi_cell``: 200 pages in about 0.15 s);
    beyond about 700 words a page the lines are set closer together to fit.
    """
    pdf = _new_pdf()
    for content in text_page_contents(pages, marker=marker, words_per_page=words_per_page):
        pdf.add_page()
        _write_lines(pdf, textwrap.wrap(content, 100))
    return bytes(pdf.output())


def _write_lines(pdf: FPDF, lines: list[str], *, left: float = 10, top: float = 15) -> None:
    step = min(5.0, (pdf.h - top - 10) / max(len(lines), 1))
    for index, line in enumerate(lines):
        pdf.text(left, top + index * step, line)


def encrypted_pdf() -> bytes:
    """A one-page text PDF that needs the user password ``secret`` to open."""
    pdf = _new_pdf()
    pdf.set_encryption(owner_password="owner-secret", user_password="secret")
    pdf.add_page()
    text = "Page 1. Confidential. " + report_words(100, random.Random(1))
    _write_lines(pdf, textwrap.wrap(text, 100))
    return bytes(pdf.output())


def truncated_pdf() -> bytes:
    """The first half of ``text_pdf(3)``, as left by an interrupted download."""
    whole = text_pdf(3)
    return whole[: len(whole) // 2]


def corrupt_pdf() -> bytes:
    """Starts like a PDF and ends with ``%%EOF``, but holds only garbage in between."""
    garbage = random.Random(42).randbytes(4000).replace(b"%%EOF", b"xxxxx")
    return b"%PDF-1.7\n" + garbage + b"\n%%EOF\n"


def _scan_image(text: str, page: int) -> Image.Image:
    """A white A4 page at 100 dpi with large black text, like a scanner's output."""
    image = Image.new("RGB", (827, 1169), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    draw.text((80, 120), text, fill="black", font=font)
    draw.text((80, 220), f"Page {page}", fill="black", font=font)
    for row in range(8):  # grey "lines of text" too small to read, as in a real scan
        draw.rectangle((80, 360 + row * 60, 740, 372 + row * 60), fill=(90, 90, 90))
    return image


def scanned_pdf(pages: int = 2, *, words: str = "SCANNED INVOICE 42") -> bytes:
    """Pages that are only images (no text layer), each showing ``words`` in black on white."""
    pdf = _new_pdf()
    for index in range(pages):
        pdf.add_page()
        buffer = io.BytesIO()
        _scan_image(words, index + 1).save(buffer, format="JPEG", quality=85)
        pdf.image(buffer, x=0, y=0, w=pdf.w, h=pdf.h)
    return bytes(pdf.output())
