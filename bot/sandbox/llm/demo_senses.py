"""What the demo model "sees": an image's size and colours, a PDF's pages and first lines.

Blocking (Pillow, pdfium): the server calls the demo model in a worker thread.
"""

from __future__ import annotations

import io
import logging

logger = logging.getLogger(__name__)

# (name in English, name in Russian, RGB)
PALETTE = (
    ("black", "чёрный", (0, 0, 0)),
    ("white", "белый", (255, 255, 255)),
    ("grey", "серый", (128, 128, 128)),
    ("red", "красный", (220, 40, 40)),
    ("orange", "оранжевый", (245, 140, 30)),
    ("yellow", "жёлтый", (245, 220, 50)),
    ("green", "зелёный", (50, 170, 60)),
    ("cyan", "голубой", (60, 200, 220)),
    ("blue", "синий", (40, 80, 210)),
    ("purple", "фиолетовый", (140, 60, 180)),
    ("pink", "розовый", (240, 140, 190)),
    ("brown", "коричневый", (130, 80, 40)),
)


def _nearest(rgb: tuple[int, int, int], language: str) -> str:
    def distance(entry: tuple[str, str, tuple[int, int, int]]) -> int:
        return sum((a - b) ** 2 for a, b in zip(rgb, entry[2], strict=True))

    en, ru, _ = min(PALETTE, key=distance)
    return ru if language == "ru" else en


def describe_image(data: bytes, language: str) -> tuple[int, int, list[tuple[str, int]]] | None:
    """(width, height, [(colour, percent), ...] main colours first), or None if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            small = image.convert("RGB").resize((48, 48))
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    shares: dict[str, int] = {}
    raw = small.tobytes()
    for i in range(0, len(raw) - 2, 3):
        name = _nearest((raw[i], raw[i + 1], raw[i + 2]), language)
        shares[name] = shares.get(name, 0) + 1
    total = max(1, len(raw) // 3)
    ranked = sorted(shares.items(), key=lambda item: -item[1])
    colours = [(name, round(100 * count / total)) for name, count in ranked[:3]]
    return width, height, [c for c in colours if c[1] >= 5] or colours[:1]


def read_pdf(data: bytes) -> tuple[int, str] | None:
    """(pages, text of the first page), or None if it is not a readable PDF."""
    import pypdfium2  # type: ignore[import-untyped]  # ships without type hints

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        return None
    try:
        pages = len(pdf)
        text = pdf[0].get_textpage().get_text_range() if pages else ""
    finally:
        pdf.close()
    return pages, text
