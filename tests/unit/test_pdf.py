"""PDF primitives (pdfium, in-process) and the worker pool that runs them, on real files."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from bot.documents import worker as worker_module
from bot.documents.pdf import PdfInfo, PdfRejectedError, clean_text, pdf_info, pdf_page_texts
from bot.documents.worker import DocumentWorker, PdfText

# Test doubles for the worker process. They are pickled by reference, so the worker imports
# this module: keep its imports light (tests.docfiles pulls in fpdf2, imported in the fixture).


def _hang(path: str) -> PdfInfo:
    time.sleep(3600)
    raise AssertionError("not reached")


def _crash_on_marked(path: str) -> PdfInfo:
    if "crash" in Path(path).name:
        os._exit(3)  # as a segfault in pdfium would: no exception, the process is gone
    return pdf_info(path)


def _allocate_too_much(path: str) -> PdfInfo:
    memory = bytearray(worker_module.WORKER_MEMORY_LIMIT + 2**20)
    return PdfInfo(pages=len(memory))


@dataclass(frozen=True)
class Files:
    text: Path  # 12 pages, marker ZEBRA
    text_b: Path  # 4 pages, marker OKAPI
    encrypted: Path
    owner_only: Path  # owner password only: opens without a password
    truncated: Path
    corrupt: Path
    scanned: Path
    crash: Path  # a good PDF whose name makes _crash_on_marked crash


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    from fpdf import FPDF  # imported here, see above

    from tests import docfiles

    folder = tmp_path_factory.mktemp("pdfs")
    owner_only = FPDF()
    owner_only.set_encryption(owner_password="owner")
    owner_only.add_page()
    owner_only.set_font("helvetica", size=12)
    owner_only.text(20, 20, "Readable without a password")
    contents = {
        "text": docfiles.text_pdf(12, marker="ZEBRA"),
        "text_b": docfiles.text_pdf(4, marker="OKAPI"),
        "encrypted": docfiles.encrypted_pdf(),
        "owner_only": bytes(owner_only.output()),
        "truncated": docfiles.truncated_pdf(),
        "corrupt": docfiles.corrupt_pdf(),
        "scanned": docfiles.scanned_pdf(2),
        "crash": docfiles.text_pdf(1),
    }
    for name, data in contents.items():
        (folder / f"{name}.pdf").write_bytes(data)
    return Files(**{name: folder / f"{name}.pdf" for name in contents})


@pytest.fixture(scope="module")
async def worker() -> AsyncIterator[DocumentWorker]:
    """One warm pool for the tests that do not break it on purpose."""
    shared = DocumentWorker(workers=1, timeout_seconds=30, chunk_pages=5)
    yield shared
    await shared.close()


def test_clean_text_normalizes_lines() -> None:
    raw = "a  \r\nb\rc\x00\t\n\n\n\n\n\nd  \n"
    assert clean_text(raw) == "a\nb\nc\n\n\nd\n"
    assert clean_text("structures man\ufffeagement") == "structures management"


def test_primitives_read_pages_in_process(files: Files) -> None:
    assert pdf_info(str(files.text)) == PdfInfo(pages=12)
    texts = pdf_page_texts(str(files.text), 2, 5)
    assert [text.split(".")[0] for text in texts] == ["Page 3", "Page 4", "Page 5"]
    assert all("ZEBRA" in text and "\r" not in text for text in texts)
    assert len(pdf_page_texts(str(files.text), 10, 99)) == 2  # capped at the page count
    assert pdf_info(str(files.owner_only)).pages == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [("encrypted", "encrypted"), ("truncated", "truncated"), ("corrupt", "corrupt")],
)
def test_unreadable_files_are_rejected_with_a_reason(files: Files, name: str, reason: str) -> None:
    with pytest.raises(PdfRejectedError) as caught:
        pdf_info(str(getattr(files, name)))
    assert caught.value.reason == reason


async def test_text_of_a_multi_page_pdf(files: Files, worker: DocumentWorker) -> None:
    result = await worker.pdf_text(files.text, max_pages=100)
    assert (result.pages_total, result.pages_read, len(result.page_texts)) == (12, 12, 12)
    assert all(text.startswith(f"Page {i}. ZEBRA") for i, text in enumerate(result.page_texts, 1))
    text = result.text
    assert text.startswith("--- page 1 ---\nPage 1. ZEBRA")
    assert "\n\n--- page 12 ---\nPage 12. ZEBRA" in text
    assert result.chars_per_page > 1000


@pytest.mark.parametrize("name", ["encrypted", "truncated", "corrupt"])
async def test_rejection_crosses_the_process_boundary(
    files: Files, worker: DocumentWorker, name: str
) -> None:
    with pytest.raises(PdfRejectedError) as caught:
        await worker.pdf_text(getattr(files, name), max_pages=10)
    assert caught.value.reason == name


async def test_owner_password_only_is_readable(files: Files, worker: DocumentWorker) -> None:
    result = await worker.pdf_text(files.owner_only, max_pages=10)
    assert "Readable without a password" in result.text


async def test_scanned_pdf_has_no_text_but_renders(files: Files, worker: DocumentWorker) -> None:
    result = await worker.pdf_text(files.scanned, max_pages=10)
    assert result.pages_read == 2
    assert result.chars_per_page < 1
    images = await worker.render_pages(files.scanned, [0, 1], max_side=800)
    assert len(images) == 2
    for data in images:
        image = Image.open(io.BytesIO(data))
        assert (image.format, image.mode) == ("JPEG", "RGB")
        assert 780 <= max(image.size) <= 800  # scaled to fit, not rendered tiny


async def test_max_pages_caps_reading_and_progress_is_monotonic(
    files: Files, worker: DocumentWorker
) -> None:
    calls: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        calls.append((done, total))

    result = await worker.pdf_text(files.text, max_pages=11, progress=progress)
    assert (result.pages_total, result.pages_read, len(result.page_texts)) == (12, 11, 11)
    assert calls == [(5, 11), (10, 11), (11, 11)]  # chunks of 5 pages

    few = await worker.pdf_text(files.text, max_pages=3)
    assert few.pages_read == 3
    assert few.page_texts[-1].startswith("Page 3.")


async def test_concurrent_calls_each_get_their_own_text(
    files: Files, worker: DocumentWorker
) -> None:
    results = await asyncio.gather(
        *(worker.pdf_text(path, max_pages=50) for path in [files.text, files.text_b] * 3)
    )
    assert [r.pages_read for r in results] == [12, 4] * 3
    assert all("ZEBRA" in r.text for r in results[::2])
    assert all("OKAPI" in r.text and "ZEBRA" not in r.text for r in results[1::2])


async def test_timeout_rejects_and_the_next_call_gets_a_fresh_worker(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = DocumentWorker(timeout_seconds=2.0)
    try:
        monkeypatch.setattr(worker_module, "pdf_info", _hang)
        started = time.monotonic()
        with pytest.raises(PdfRejectedError) as caught:
            await fresh.pdf_text(files.text_b, max_pages=10)
        assert caught.value.reason == "corrupt"
        assert time.monotonic() - started < 10  # the stuck worker was not waited for
        monkeypatch.undo()
        result = await fresh.pdf_text(files.text_b, max_pages=10)
        assert result.pages_read == 4
    finally:
        await fresh.close()


async def test_a_crashing_pdf_is_corrupt_and_spares_the_others(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = DocumentWorker(timeout_seconds=30)
    monkeypatch.setattr(worker_module, "pdf_info", _crash_on_marked)
    try:
        outcomes = await asyncio.gather(
            fresh.pdf_text(files.text_b, max_pages=10),
            fresh.pdf_text(files.crash, max_pages=10),
            fresh.pdf_text(files.text, max_pages=10),
            return_exceptions=True,
        )
        first, crashed, last = outcomes
        assert isinstance(first, PdfText)
        assert first.pages_read == 4
        assert isinstance(crashed, PdfRejectedError)
        assert crashed.reason == "corrupt"
        assert isinstance(last, PdfText)
        assert last.pages_read == 10
    finally:
        await fresh.close()


@pytest.mark.skipif(sys.platform != "linux", reason="the worker's memory limit is RLIMIT_AS")
async def test_a_memory_bomb_hits_the_worker_limit(
    files: Files, worker: DocumentWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "pdf_info", _allocate_too_much)
    with pytest.raises(PdfRejectedError) as caught:
        await worker.pdf_text(files.text_b, max_pages=10)
    assert caught.value.reason == "corrupt"
    monkeypatch.undo()
    assert (await worker.pdf_text(files.text_b, max_pages=10)).pages_read == 4
