"""Images and pinned documents loaded for a request, fitted to the model that receives them."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.chat.attachments import (
    PDF_PAGE_TOKENS,
    SCANNED_WITHOUT_VISION,
    AttachmentLoader,
    DocumentNote,
    LoadedAttachments,
)
from bot.chat.context import (
    OMITTED_IMAGE_NOTE,
    build_request,
    estimate_tokens,
    normalize_turns,
)
from bot.llm.providers.anthropic import _message as anthropic_message
from bot.llm.providers.openai_compat import _message as openai_message
from bot.llm.spec import InputLimits, ModelCapabilities, ModelSpec
from bot.llm.types import ChatRequest, DocumentPart, ImagePart, Part, TextPart, Turn
from bot.storage.blobs import BlobStore, sha256_of
from bot.storage.dto import MessageStatus, PinnedDocument, Role, StoredMessage

PDF = b"%PDF-1.7\n" + b"0" * 2000 + b"\n%%EOF\n"  # the loader never parses it


def spec(
    *,
    vision: bool = True,
    pdf_native: bool = False,
    context: int = 100_000,
    max_output: int = 1000,
    image_max_side: int = 2048,
    pdf_max_pages: int = 100,
    pdf_max_bytes: int = 32 * 1024 * 1024,
) -> ModelSpec:
    caps = ModelCapabilities(
        vision=vision,
        tools=False,
        system_prompt=True,
        pdf_native=pdf_native,
        context_tokens=context,
        max_output_tokens=max_output,
    )
    limits = InputLimits(image_max_side, pdf_max_pages, pdf_max_bytes)
    return ModelSpec("m", "M", "p", "m", caps, limits=limits)


def jpeg(width: int, height: int, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def size_of(part: ImagePart) -> tuple[int, int]:
    with Image.open(io.BytesIO(part.data)) as image:
        return image.size


async def stored_image(blobs: BlobStore, width: int, height: int, shade: int) -> dict[str, Any]:
    """A picture in the blob store and the reference history keeps of it."""
    sha = await blobs.put(jpeg(width, height, (shade, 80, 160)))
    return {
        "type": "image",
        "sha256": sha,
        "media_type": "image/jpeg",
        "width": width,
        "height": height,
    }


def user(n: int, text: str, *images: dict[str, Any]) -> StoredMessage:
    content = [{"type": "text", "text": text}, *images]
    return StoredMessage(n, 1, Role.USER, content, MessageStatus.COMPLETE)


def answer(n: int, text: str) -> StoredMessage:
    return StoredMessage(
        n, 1, Role.ASSISTANT, [{"type": "text", "text": text}], MessageStatus.COMPLETE
    )


def document(**fields: Any) -> PinnedDocument:
    values: dict[str, Any] = {
        "id": 1,
        "kind": "pdf",
        "file_name": "report.pdf",
        "blob_sha256": sha256_of(PDF),
        "text": "Quarterly revenue grew by 12 percent.",
        "pages_total": 3,
        "pages_read": 3,
        "message_id": 10,
    }
    values.update(fields)
    return PinnedDocument(**values)


def loader(blobs: BlobStore, *, turns: int = 3, share: float = 0.6) -> AttachmentLoader:
    return AttachmentLoader(blobs, image_history_turns=turns, context_share=share)


def texts(parts: tuple[Part, ...] | list[Part]) -> str:
    return "".join(p.text for p in parts if isinstance(p, TextPart))


def turn_of(request: ChatRequest, text: str) -> Turn:
    return next(t for t in request.turns if text in t.plain_text)


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


# Images in history


async def test_only_the_last_user_messages_images_are_sent_again(blobs: BlobStore) -> None:
    a, b, c, d = [await stored_image(blobs, 64, 48, shade) for shade in (10, 90, 170, 250)]
    history = [
        user(1, "first", a),
        answer(2, "a red thing"),
        user(3, "second", b),
        answer(4, "a blue thing"),
        user(5, "third", c),
        answer(6, "a green thing"),
        user(7, "and this one?", d),
    ]
    loaded = await loader(blobs, turns=2).load(spec(), history, [], 7)

    assert set(loaded.attachments.images) == {5, 7}
    [shown_c] = loaded.attachments.images[5]
    assert shown_c.data == await blobs.get(c["sha256"])  # fits the provider: sent as stored

    request = build_request(spec(), None, history, attachments=loaded.attachments)
    for old in ("first", "second"):
        turn = turn_of(request, old)
        assert turn.images == ()
        assert OMITTED_IMAGE_NOTE in turn.plain_text
    assert turn_of(request, "third").images == (shown_c,)
    assert request.turns[-1].images == loaded.attachments.images[7]
    assert OMITTED_IMAGE_NOTE not in request.turns[-1].plain_text


async def test_a_model_without_vision_gets_the_note_instead_of_images(blobs: BlobStore) -> None:
    history = [user(1, "what is it?", await stored_image(blobs, 64, 48, 10))]
    loaded = await loader(blobs).load(spec(vision=False), history, [], 1)

    assert loaded.attachments.images == {}
    request = build_request(spec(vision=False), None, history, attachments=loaded.attachments)
    assert request.turns[0].images == ()
    assert request.turns[0].plain_text.startswith(OMITTED_IMAGE_NOTE)


async def test_images_larger_than_the_provider_limit_arrive_downscaled(blobs: BlobStore) -> None:
    big = await stored_image(blobs, 1200, 600, 10)
    small = await stored_image(blobs, 300, 200, 200)
    history = [user(1, "compare", big, small)]

    loaded = await loader(blobs).load(spec(image_max_side=512), history, [], 1)

    shown_big, shown_small = loaded.attachments.images[1]
    assert size_of(shown_big) == (512, 256)  # aspect ratio kept
    assert shown_small.data == await blobs.get(small["sha256"])


async def test_a_missing_blob_is_skipped_without_failing_the_turn(blobs: BlobStore) -> None:
    present = await stored_image(blobs, 64, 48, 10)
    gone = {**present, "sha256": sha256_of(b"deleted from disk")}
    history = [user(1, "two pictures", gone, present), answer(2, "ok"), user(3, "another", gone)]

    loaded = await loader(blobs).load(spec(), history, [], 3)

    [shown] = loaded.attachments.images[1]
    assert shown.data == await blobs.get(present["sha256"])
    assert 3 not in loaded.attachments.images
    request = build_request(spec(), None, history, attachments=loaded.attachments)
    assert request.turns[-1].images == ()
    assert request.turns[-1].plain_text.startswith(OMITTED_IMAGE_NOTE)
    assert request.turns[-1].plain_text.endswith("another")


# Pinned documents


async def test_a_pinned_pdf_goes_native_to_a_model_that_reads_pdfs(blobs: BlobStore) -> None:
    await blobs.put(PDF)
    model = spec(pdf_native=True)
    history = [user(10, "summarise it")]

    loaded = await loader(blobs).load(model, history, [document()], 10)

    assert loaded.attachments.pinned == (DocumentPart(PDF, "report.pdf"),)
    assert loaded.attachments.pinned_tokens == 3 * PDF_PAGE_TOKENS
    assert loaded.notes == ()
    request = build_request(model, None, history, attachments=loaded.attachments)
    assert request.turns[0].parts == (DocumentPart(PDF, "report.pdf"), TextPart("summarise it"))


@pytest.mark.parametrize(
    ("model", "pages"),
    [
        pytest.param(spec(pdf_native=True, pdf_max_pages=4), 5, id="more-pages-than-allowed"),
        pytest.param(spec(pdf_native=True, pdf_max_bytes=1024), 3, id="more-bytes-than-allowed"),
        pytest.param(spec(pdf_native=False), 3, id="model-does-not-read-pdfs"),
    ],
)
async def test_a_pdf_the_model_cannot_take_natively_goes_as_text(
    blobs: BlobStore, model: ModelSpec, pages: int
) -> None:
    await blobs.put(PDF)
    pinned = document(pages_total=pages, pages_read=pages)

    loaded = await loader(blobs).load(model, [user(10, "q")], [pinned], 10)

    assert not any(isinstance(p, DocumentPart) for p in loaded.attachments.pinned)
    body = texts(loaded.attachments.pinned)
    assert body.startswith(f'<document name="report.pdf" pages="{pages}">')
    assert "Quarterly revenue grew by 12 percent." in body
    assert loaded.attachments.pinned_tokens == estimate_tokens(body)
    assert loaded.notes == ()


async def test_a_scanned_pdf_is_shown_as_page_images_to_a_vision_model(
    blobs: BlobStore,
) -> None:
    pages = [jpeg(300, 400, (250, 250, 250)), jpeg(300, 400, (240, 240, 230))]
    shas = tuple([await blobs.put(page) for page in pages])
    scan = document(text="", pages_total=2, pages_read=2, page_images=shas)

    loaded = await loader(blobs).load(spec(), [user(10, "read it")], [scan], 10)

    header, first, second, footer = loaded.attachments.pinned
    assert header == TextPart('<document name="report.pdf" pages="2">\n')
    assert (first, second) == (ImagePart(pages[0]), ImagePart(pages[1]))
    assert isinstance(footer, TextPart)
    assert footer.text.startswith("</document>")
    assert loaded.notes == ()


async def test_a_scanned_pdf_with_more_pages_than_rendered_gets_a_pages_note(
    blobs: BlobStore,
) -> None:
    sha = await blobs.put(jpeg(300, 400))
    scan = document(text="", pages_total=20, pages_read=1, page_images=(sha,))

    loaded = await loader(blobs).load(spec(), [user(10, "read it")], [scan], 10)

    assert loaded.notes == (DocumentNote("report.pdf", 100, 1, 20),)


async def test_a_scanned_pdf_gets_a_note_for_a_model_without_vision(blobs: BlobStore) -> None:
    sha = await blobs.put(jpeg(300, 400))
    scan = document(text="", pages_total=1, pages_read=1, page_images=(sha,))

    loaded = await loader(blobs).load(spec(vision=False), [user(10, "read it")], [scan], 10)

    assert not any(isinstance(p, ImagePart) for p in loaded.attachments.pinned)
    assert SCANNED_WITHOUT_VISION in texts(loaded.attachments.pinned)


def long_text(lines: int) -> str:
    return "".join(f"line {i:05d} of the contract\n" for i in range(lines))


async def truncated(blobs: BlobStore, question_id: int) -> tuple[str, LoadedAttachments]:
    text = long_text(1000)  # about 27,000 characters, 9,000 tokens
    pinned = document(kind="text", file_name="contract.txt", text=text, pages_total=None)
    model = spec(context=4000, max_output=1000)  # a document may take half of 3000 tokens
    return text, await loader(blobs, share=0.5).load(model, [user(10, "q")], [pinned], question_id)


async def test_long_text_is_cut_to_the_budget_with_a_note_on_how_much(blobs: BlobStore) -> None:
    text, loaded = await truncated(blobs, question_id=10)

    body = texts(loaded.attachments.pinned)
    assert loaded.attachments.pinned_tokens <= 1500
    kept = body.removeprefix('<document name="contract.txt">\n').removesuffix("\n</document>\n\n")
    assert text.startswith(kept)  # the beginning is kept
    assert 0 < len(kept) < len(text)
    [note] = loaded.notes
    assert note.file_name == "contract.txt"
    assert 1 <= note.percent <= 99
    assert abs(note.percent - 100 * len(kept) / len(text)) <= 1


async def test_a_document_of_an_earlier_question_is_cut_without_a_note(blobs: BlobStore) -> None:
    text, loaded = await truncated(blobs, question_id=11)

    assert len(texts(loaded.attachments.pinned)) < len(text)
    assert loaded.notes == ()


async def test_a_short_text_document_is_pinned_whole_without_a_note(blobs: BlobStore) -> None:
    pinned = document(kind="text", file_name="a.md", text="# Title\nbody", pages_total=None)

    loaded = await loader(blobs).load(spec(), [user(10, "q")], [pinned], 10)

    assert loaded.attachments.pinned == (
        TextPart('<document name="a.md">\n# Title\nbody\n</document>\n\n'),
    )
    assert loaded.notes == ()


async def test_a_pinned_document_stays_ahead_when_old_turns_are_dropped(
    blobs: BlobStore,
) -> None:
    model = spec(vision=False, context=3000, max_output=200)
    history: list[StoredMessage] = []
    for i in range(10):
        history += [user(2 * i, f"q{i} " + "x" * 300), answer(2 * i + 1, f"a{i} " + "y" * 300)]
    history.append(user(99, "latest question"))
    pinned = document(kind="text", file_name="notes.txt", text="n" * 1500, pages_total=None)
    loaded = await loader(blobs).load(model, history, [pinned], 0)

    request = build_request(model, "sys", history, attachments=loaded.attachments)

    all_text = [t.plain_text for t in request.turns]
    assert not any(text.startswith("q0 ") for text in all_text)  # the oldest turns went
    first = request.turns[0]
    assert first.role == "user"
    assert first.parts[0] == loaded.attachments.pinned[0]
    assert first.plain_text.removeprefix(texts(loaded.attachments.pinned)).startswith("q")
    assert request.turns[-1].plain_text == "latest question"
    used = sum(estimate_tokens(t.plain_text) for t in request.turns) + estimate_tokens("sys")
    assert used <= 3000 * 0.95 - 200


# Known defects


async def test_scanned_pages_are_fitted_to_the_provider_limit(blobs: BlobStore) -> None:
    sha = await blobs.put(jpeg(1200, 1600))
    scan = document(text="", pages_total=1, pages_read=1, page_images=(sha,))

    loaded = await loader(blobs).load(spec(image_max_side=768), [user(10, "q")], [scan], 10)

    [page] = [p for p in loaded.attachments.pinned if isinstance(p, ImagePart)]
    assert max(size_of(page)) <= 768


async def test_a_scanned_page_stored_as_png_is_sent_as_png(blobs: BlobStore) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (255, 255, 255)).save(buffer, "PNG")
    sha = await blobs.put(buffer.getvalue())
    scan = document(text="", pages_total=1, pages_read=1, page_images=(sha,))

    loaded = await loader(blobs).load(spec(), [user(10, "q")], [scan], 10)

    [page] = [p for p in loaded.attachments.pinned if isinstance(p, ImagePart)]
    assert page.media_type == "image/png"


async def test_scanned_pages_respect_the_document_budget(blobs: BlobStore) -> None:
    shas = tuple([await blobs.put(jpeg(100, 140, (i, i, i))) for i in range(8)])
    scan = document(text="", pages_total=8, pages_read=8, page_images=shas)
    model = spec(context=8192, max_output=1024)
    history = [user(10, "what does page 2 say?")]

    loaded = await loader(blobs).load(model, history, [scan], 10)
    request = build_request(model, None, history, attachments=loaded.attachments)

    assert request.turns[-1].plain_text.endswith("what does page 2 say?")


async def test_the_current_questions_document_is_read_after_a_long_older_one(
    blobs: BlobStore,
) -> None:
    old = document(
        id=1, kind="text", file_name="old.txt", text=long_text(1000), pages_total=None, message_id=3
    )
    new = document(
        id=2, kind="text", file_name="new.txt", text="The deadline is May 5.", pages_total=None
    )
    model = spec(context=4000, max_output=1000)

    loaded = await loader(blobs, share=0.5).load(model, [user(10, "when?")], [old, new], 10)

    assert "The deadline is May 5." in texts(loaded.attachments.pinned)


# Merged turns and the providers' wire format


def test_two_user_turns_in_a_row_keep_the_image_when_merged() -> None:
    image = ImagePart(b"jpeg bytes")
    with_image = Turn("user", (image, TextPart("what is this?")))
    plain = Turn.text("user", "hello?")

    for first, second in ((with_image, plain), (plain, with_image)):
        [merged] = normalize_turns([first, second])
        assert merged.role == "user"
        assert merged.images == (image,)
        assert merged.plain_text == f"{first.plain_text}\n\n{second.plain_text}"


async def test_a_failed_answer_between_two_questions_keeps_the_first_image(
    blobs: BlobStore,
) -> None:
    ref = await stored_image(blobs, 64, 48, 10)
    history = [user(1, "look", ref), user(2, "well?")]  # the answer to "look" failed
    loaded = await loader(blobs).load(spec(), history, [], 2)

    request = build_request(spec(), None, history, attachments=loaded.attachments)

    [turn] = request.turns
    assert turn.images == loaded.attachments.images[1]
    assert turn.plain_text == "look\n\nwell?"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_openai_gets_a_pdf_as_a_file_part_in_order() -> None:
    turn = Turn(
        "user",
        (DocumentPart(PDF, "report.pdf"), ImagePart(b"png", "image/png"), TextPart("sum up")),
    )

    assert openai_message(turn) == {
        "role": "user",
        "content": [
            {
                "type": "file",
                "file": {
                    "filename": "report.pdf",
                    "file_data": f"data:application/pdf;base64,{b64(PDF)}",
                },
            },
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(b'png')}"}},
            {"type": "text", "text": "sum up"},
        ],
    }
    assert openai_message(Turn.text("assistant", "done")) == {
        "role": "assistant",
        "content": "done",
    }


def test_anthropic_gets_a_pdf_as_a_document_block_in_order() -> None:
    turn = Turn("user", (DocumentPart(PDF, "report.pdf"), ImagePart(b"jpg"), TextPart("sum up")))

    assert anthropic_message(turn) == {
        "role": "user",
        "content": [
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)},
                "title": "report.pdf",
            },
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/jpeg", "data": b64(b"jpg")},
            },
            {"type": "text", "text": "sum up"},
        ],
    }
