"""Documents and images through the real bot: PDFs (text, scanned, native, broken), text files,
EXIF rotation, decompression bombs, albums, pinned documents and follow-ups, and refusals that
leave nothing behind."""

from __future__ import annotations

import asyncio
import base64
import io
import struct
import time
import zlib
from typing import Any

import pytest
from PIL import Image

from tests.docfiles import corrupt_pdf, encrypted_pdf, scanned_pdf, text_pdf, truncated_pdf
from tests.e2e.conftest import Stack
from tests.e2e.test_chat import ask, count_bot_messages
from tests.e2e.test_commands import button_data, press

pytestmark = pytest.mark.e2e

REPLY_TIMEOUT = 20.0
SUMMARY_REQUEST = (
    "Summarise this document: what it is, its main points, and anything that needs attention."
)


async def choose_model(stack: Stack, user_id: int, model_id: str) -> None:
    menu = await ask(stack, user_id, "/setmodel")
    await press(stack, user_id, user_id, menu["message_id"], f"model:{model_id}")


async def wait_reply(stack: Stack, user_id: int, before: int) -> dict[str, Any]:
    """The first bot message after the first `before` that stays (progress messages go)."""
    deadline = time.monotonic() + REPLY_TIMEOUT
    while time.monotonic() < deadline:
        messages = await stack.telegram.bot_messages(user_id)
        settled = [m for m in messages[before:] if "Reading page" not in (m.get("text") or "")]
        if settled:
            return settled[0]
        await asyncio.sleep(0.05)
    transcript = await stack.telegram.transcript(user_id)
    raise AssertionError(f"no reply in {REPLY_TIMEOUT} s: {transcript}")


async def send_file(
    stack: Stack,
    user_id: int,
    content: bytes,
    name: str,
    mime: str,
    caption: str | None = None,
) -> dict[str, Any]:
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.send_document(user_id, content, name, mime, caption=caption)
    return await wait_reply(stack, user_id, before)


def stored_blobs(stack: Stack) -> set[str]:
    root = stack.bot.log_path.parent / "blobs"
    return {p.name for p in root.rglob("*") if p.is_file()}


def requests_of(stack: Stack, since: int) -> list[dict[str, Any]]:
    return stack.llm.requests[since:]


def user_content(request: dict[str, Any]) -> list[Any]:
    """Every content block (or string) of the request's user messages, in order."""
    blocks: list[Any] = []
    for message in request["body"]["messages"]:
        if message["role"] != "user":
            continue
        content = message["content"]
        blocks.extend(content if isinstance(content, list) else [content])
    return blocks


def all_text(request: dict[str, Any]) -> str:
    parts = []
    for block in user_content(request):
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") == "text":
            parts.append(block["text"])
    return "\n".join(parts)


def openai_images(request: dict[str, Any]) -> list[Image.Image]:
    images: list[Image.Image] = []
    for block in user_content(request):
        if isinstance(block, dict) and block.get("type") == "image_url":
            url = block["image_url"]["url"]
            assert url.startswith(("data:image/jpeg;base64,", "data:image/png;base64,"))
            images.append(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    return images


def colour_at(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    red, green, blue = image.getpixel((x, y))  # type: ignore[misc]
    return int(red), int(green), int(blue)


def png(width: int, height: int, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


async def test_a_pdf_is_read_pinned_for_follow_ups_and_dropped_by_reset(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack  # default model GPT Test: no native PDFs, so the text is sent
    since = len(stack.llm.requests)
    pdf = text_pdf(5, marker="ZEBRA-7", words_per_page=60)
    reply = await send_file(stack, user_id, pdf, "report.pdf", "application/pdf", "What is it?")
    assert reply["text"].startswith('This is the sandbox model "gpt-test".')
    [request] = requests_of(stack, since)
    text = all_text(request)
    assert '<document name="report.pdf" pages="5">' in text
    assert "Page 1. ZEBRA-7" in text
    assert "--- page 5 ---" in text
    assert text.rstrip().endswith("What is it?")

    since = len(stack.llm.requests)
    await ask(stack, user_id, "and what does page 2 say?")
    [follow_up] = requests_of(stack, since)
    assert "Page 2. ZEBRA-7" in all_text(follow_up)  # still pinned

    await ask(stack, user_id, "/reset")
    since = len(stack.llm.requests)
    await ask(stack, user_id, "what was in the report?")
    [after_reset] = requests_of(stack, since)
    assert "ZEBRA-7" not in all_text(after_reset)


async def test_without_a_caption_the_model_is_asked_for_a_summary(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack
    since = len(stack.llm.requests)
    await send_file(stack, user_id, text_pdf(1, words_per_page=40), "memo.pdf", "application/pdf")
    [request] = requests_of(stack, since)
    assert all_text(request).rstrip().endswith(SUMMARY_REQUEST)


async def test_a_long_pdf_shows_progress_and_reads_up_to_the_page_cap(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack  # max_pages = 120, progress from 30 pages
    since = len(stack.llm.requests)
    pdf = text_pdf(150, marker="LONG", words_per_page=8)
    reply = await send_file(stack, user_id, pdf, "long.pdf", "application/pdf", "Summary?")
    assert reply["text"].endswith("📄 long.pdf: I read the first 120 of 150 pages.")
    [request] = requests_of(stack, since)
    text = all_text(request)
    assert "--- page 120 ---" in text
    assert "--- page 121 ---" not in text
    progress = [
        c
        for c in await stack.telegram.calls("sendMessage", chat_id=user_id)
        if "Reading page" in str(c["params"].get("text"))
    ]
    assert progress, "a status message shows the reading progress"
    assert "of 120" in str(progress[0]["params"]["text"])
    deleted = await stack.telegram.calls("deleteMessage", chat_id=user_id)
    assert deleted, "the status message is removed once the document is read"


async def test_a_document_longer_than_the_context_is_cut_and_the_user_told(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack
    await choose_model(stack, user_id, "small")  # 3000 tokens of context
    since = len(stack.llm.requests)
    pdf = text_pdf(20, marker="CUT", words_per_page=200)
    reply = await send_file(stack, user_id, pdf, "thesis.pdf", "application/pdf", "Main idea?")
    assert (
        "📄 thesis.pdf is longer than this model can read at once: I read about " in (reply["text"])
    )
    [request] = requests_of(stack, since)
    text = all_text(request)
    assert "Page 1. CUT" in text
    assert "Page 20. CUT" not in text
    assert len(text) < 3000 * 3


async def test_a_scanned_pdf_goes_to_a_vision_model_as_page_images(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack
    await choose_model(stack, user_id, "vision")
    since = len(stack.llm.requests)
    reply = await send_file(
        stack, user_id, scanned_pdf(2), "scan.pdf", "application/pdf", "What is the invoice?"
    )
    assert reply["text"].startswith('This is the sandbox model "vision-test".')
    [request] = requests_of(stack, since)
    pages = openai_images(request)
    assert len(pages) == 2
    assert all(max(page.size) <= 1568 for page in pages)
    assert '<document name="scan.pdf" pages="2">' in all_text(request)


async def test_a_scanned_pdf_for_a_model_that_cannot_see_offers_models_that_can(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack  # GPT Test cannot see
    since = len(stack.llm.requests)
    reply = await send_file(stack, user_id, scanned_pdf(1), "scan.pdf", "application/pdf")
    assert reply["text"].startswith("GPT Test cannot see pictures. Models that can: ")
    assert "Vision Test" in button_data(reply)
    assert requests_of(stack, since) == []
    # Nothing was kept: the next question does not carry the scan.
    await ask(stack, user_id, "hello there")
    [request] = requests_of(stack, since)
    assert "scan.pdf" not in all_text(request)


async def test_a_pdf_goes_natively_to_a_model_that_reads_pdfs(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack
    await choose_model(stack, user_id, "claude-pdf")
    since = len(stack.llm.requests)
    pdf = text_pdf(3, marker="NATIVE", words_per_page=50)
    await send_file(stack, user_id, pdf, "contract.pdf", "application/pdf", "Any risks?")
    [request] = requests_of(stack, since)
    assert request["model"] == "claude-pdf-test"
    [document] = [b for b in user_content(request) if b.get("type") == "document"]
    assert document["source"]["media_type"] == "application/pdf"
    assert base64.b64decode(document["source"]["data"]) == pdf
    assert "NATIVE" not in all_text(request)  # the file itself, not its extracted text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (encrypted_pdf(), "locked.pdf is protected with a password, so I cannot read it."),
        (truncated_pdf(), "locked.pdf seems incomplete (the upload was cut off)."),
        (corrupt_pdf(), "I could not read locked.pdf: the PDF is damaged"),
    ],
    ids=["encrypted", "truncated", "corrupt"],
)
async def test_a_broken_pdf_gets_a_clear_message_and_nothing_is_kept(
    documents_stack: Stack, user_id: int, content: bytes, expected: str
) -> None:
    stack = documents_stack
    since = len(stack.llm.requests)
    blobs_before = stored_blobs(stack)
    reply = await send_file(stack, user_id, content, "locked.pdf", "application/pdf", "Read it")
    assert reply["text"].startswith(expected)
    assert requests_of(stack, since) == []
    assert stored_blobs(stack) == blobs_before  # nothing kept half-way
    await ask(stack, user_id, "are you still there?")
    [request] = requests_of(stack, since)
    assert "locked.pdf" not in all_text(request)


async def test_a_file_over_twenty_megabytes_is_refused_before_download(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack
    big = b"%PDF-1.7\n" + b"0" * (21 * 1024 * 1024)
    reply = await send_file(stack, user_id, big, "huge.pdf", "application/pdf")
    assert reply["text"] == "This file is too large: I can read files of up to 20 MB."
    assert not await stack.telegram.calls("getFile", chat_id=user_id)


async def test_a_cp1251_text_file_is_decoded(documents_stack: Stack, user_id: int) -> None:
    stack = documents_stack
    text = "Протокол собрания жильцов.\nРешили: покрасить забор в зелёный цвет к маю."
    since = len(stack.llm.requests)
    await send_file(stack, user_id, text.encode("cp1251"), "протокол.txt", "text/plain", "О чём?")
    [request] = requests_of(stack, since)
    assert text in all_text(request)


def exif_rotated_png() -> bytes:
    """40x20 pixels stored: left half red, right half blue; EXIF orientation 6 says "rotate
    90° clockwise to view", so the upright picture is 20x40, red on top, blue below."""
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif)
    return buffer.getvalue()


async def test_an_image_file_is_turned_upright_by_its_exif_orientation(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack
    await choose_model(stack, user_id, "vision")
    since = len(stack.llm.requests)
    await send_file(stack, user_id, exif_rotated_png(), "rotated.png", "image/png", "Colours?")
    [request] = requests_of(stack, since)
    [picture] = openai_images(request)
    assert picture.size == (20, 40)
    rgb = picture.convert("RGB")
    assert colour_at(rgb, 10, 5) == pytest.approx((255, 0, 0), abs=40)  # red on top
    assert colour_at(rgb, 10, 35) == pytest.approx((0, 0, 255), abs=40)  # blue below


def pixel_bomb_png() -> bytes:
    """A small valid PNG whose header declares 40000x40000 pixels."""
    data = bytearray(png(1, 1))
    ihdr = data[12:29]  # type + 13 bytes of header data
    ihdr[4:12] = struct.pack(">II", 40_000, 40_000)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


async def test_an_image_far_over_the_pixel_limit_is_refused(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack
    await choose_model(stack, user_id, "vision")
    since = len(stack.llm.requests)
    reply = await send_file(stack, user_id, pixel_bomb_png(), "bomb.png", "image/png", "Hi")
    assert reply["text"].startswith("This picture is too large to open safely (over 50")
    assert requests_of(stack, since) == []


async def test_an_album_of_three_photos_is_one_turn(documents_stack: Stack, user_id: int) -> None:
    stack = documents_stack
    await choose_model(stack, user_id, "vision")
    since = len(stack.llm.requests)
    before = await count_bot_messages(stack, user_id)
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]
    for index, colour in enumerate(colours):
        caption = "Which of these is green?" if index == 0 else None
        await stack.telegram.send_photo(
            user_id, png(64, 48, colour), caption=caption, media_group_id="album-1"
        )
    await wait_reply(stack, user_id, before)
    await asyncio.sleep(1.5)  # no second answer comes
    assert await count_bot_messages(stack, user_id) == before + 1
    [request] = requests_of(stack, since)
    pictures = openai_images(request)
    assert [colour_at(p.convert("RGB"), 5, 5) for p in pictures] == [
        pytest.approx(c, abs=6) for c in colours
    ]
    assert all_text(request).rstrip().endswith("Which of these is green?")


async def test_older_images_are_left_out_with_a_note(documents_stack: Stack, user_id: int) -> None:
    stack = documents_stack  # image_history_turns = 2
    await choose_model(stack, user_id, "vision")
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.send_photo(user_id, png(30, 30), caption="remember this square")
    await wait_reply(stack, user_id, before)
    await ask(stack, user_id, "first follow-up")
    since = len(stack.llm.requests)
    await ask(stack, user_id, "second follow-up")
    [request] = requests_of(stack, since)
    assert openai_images(request) == []
    assert "it is no longer shown, to save space" in all_text(request)


async def test_a_photo_for_a_model_without_vision_offers_the_models_that_can_as_buttons(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack
    since = len(stack.llm.requests)
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.send_photo(user_id, png(8, 8), caption="what is this?")
    reply = await wait_reply(stack, user_id, before)
    assert reply["text"].startswith("GPT Test cannot see pictures. Models that can: ")
    buttons = button_data(reply)
    assert buttons["Vision Test"] == "model:vision"
    assert "GPT Test" not in buttons
    assert requests_of(stack, since) == []
    _, edited = await press(stack, user_id, user_id, reply["message_id"], "model:vision")
    assert edited["text"] == "Model switched to Vision Test."


async def test_an_unsupported_file_type_is_named(documents_stack: Stack, user_id: int) -> None:
    reply = await send_file(
        documents_stack, user_id, b"\x00\x01binary", "archive.rar", "application/x-rar"
    )
    assert reply["text"] == (
        "I cannot read archive.rar. I read PDF, Word (.docx), text and code files, and pictures."
    )


async def test_an_album_for_a_model_that_cannot_see_is_refused_once(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack  # GPT Test cannot see
    before = await count_bot_messages(stack, user_id)
    for index in range(3):
        caption = "What are these?" if index == 0 else None
        await stack.telegram.send_photo(
            user_id, png(16, 16), caption=caption, media_group_id="refused-album"
        )
    reply = await wait_reply(stack, user_id, before)
    assert reply["text"].startswith("GPT Test cannot see pictures.")
    answer = await ask(stack, user_id, "ok, never mind")
    assert answer["text"].startswith('This is the sandbox model "gpt-test".')
    assert await count_bot_messages(stack, user_id) == before + 2  # one refusal, one answer


async def test_others_are_answered_while_a_long_pdf_is_read(
    documents_stack: Stack, user_id: int
) -> None:
    stack = documents_stack
    other = user_id + 500_000
    pdf = text_pdf(120, marker="BUSY", words_per_page=300)
    before = await count_bot_messages(stack, user_id)
    await stack.telegram.send_document(user_id, pdf, "big.pdf", "application/pdf", caption="?")
    answer = await ask(stack, other, "a quick question meanwhile")
    assert answer["text"].startswith('This is the sandbox model "gpt-test".')
    reply = await wait_reply(stack, user_id, before)
    assert reply["text"].startswith('This is the sandbox model "gpt-test".')
