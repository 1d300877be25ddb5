"""Blobs on disk (once each, by hash) and the documents pinned to conversations, on real SQLite."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.blobs import BlobStore
from bot.storage.dto import Blob, PinnedDocument, Role
from bot.storage.engine import create_engine, create_session_factory
from bot.storage.migrate import head_revision, upgrade
from bot.storage.uow import UnitOfWorkFactory

PDF = b"%PDF-1.7 a small document"
PDF_SHA = hashlib.sha256(PDF).hexdigest()
PAGE_SHA = hashlib.sha256(b"page 1").hexdigest()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# BlobStore


async def test_the_same_bytes_are_stored_once_under_their_hash(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")

    first = await store.put(PDF)
    second = await store.put(PDF)

    assert first == second == PDF_SHA
    expected = tmp_path / "blobs" / PDF_SHA[:2] / PDF_SHA[2:4] / PDF_SHA
    assert store.path(first) == expected
    assert files_under(tmp_path / "blobs") == [expected]
    assert await store.get(first) == PDF


async def test_concurrent_puts_leave_one_complete_file_and_no_temporaries(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"x" * 200_000

    shas = await asyncio.gather(*(store.put(data) for _ in range(8)))
    other = await store.put(b"another picture")

    assert set(shas) == {hashlib.sha256(data).hexdigest()}
    assert files_under(tmp_path / "blobs") == sorted([store.path(shas[0]), store.path(other)])
    assert await store.get(shas[0]) == data


async def test_a_failed_write_leaves_nothing_under_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BlobStore(tmp_path / "blobs")

    def crash(src: str, dst: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("bot.storage.blobs.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        await store.put(PDF)

    assert files_under(tmp_path / "blobs") == []  # neither the blob nor a .tmp file
    with pytest.raises(FileNotFoundError):
        await store.get(PDF_SHA)


@pytest.mark.parametrize(
    "name",
    ["../../../etc/passwd", PDF_SHA.upper(), PDF_SHA[:63], PDF_SHA + "0", "g" * 64, ""],
)
async def test_a_name_that_is_not_a_sha256_is_refused(tmp_path: Path, name: str) -> None:
    store = BlobStore(tmp_path / "blobs")

    with pytest.raises(ValueError, match="not a SHA-256"):
        await store.get(name)
    with pytest.raises(ValueError, match="not a SHA-256"):
        store.path(name)


async def test_a_missing_blob_raises_file_not_found(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    await store.put(b"something else")

    with pytest.raises(FileNotFoundError):
        await store.get(PDF_SHA)


# Repositories on a migrated database


@pytest.fixture
async def uow(tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db' / 'bot.sqlite3'}")
    assert await upgrade(engine) == head_revision()
    yield UnitOfWorkFactory(create_session_factory(engine))
    await engine.dispose()


async def new_conversation(uow: UnitOfWorkFactory, chat_id: int) -> tuple[int, int]:
    """A conversation with one user message; returns their ids."""
    async with uow() as unit:
        await unit.chats.upsert(chat_id, type_="private", title=None)
        conversation = await unit.conversations.create(chat_id)
        message = await unit.messages.add(conversation, Role.USER, [{"type": "text", "text": "q"}])
        await unit.commit()
    return conversation, message.id


def pinned(
    name: str,
    *,
    doc_id: int = 0,
    pages_total: int | None = None,
    pages_read: int | None = None,
    page_images: tuple[str, ...] = (),
    message_id: int | None = None,
) -> PinnedDocument:
    return PinnedDocument(
        id=doc_id,
        kind="pdf",
        file_name=name,
        blob_sha256=PDF_SHA,
        text=f"text of {name}",
        pages_total=pages_total,
        pages_read=pages_read,
        page_images=page_images,
        message_id=message_id,
    )


async def add_blobs(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        await unit.blobs.add(Blob(PDF_SHA, "application/pdf", len(PDF)))
        await unit.blobs.add(Blob(PAGE_SHA, "image/jpeg", 6, 1200, 1600))
        await unit.commit()


async def test_the_same_blob_recorded_twice_is_one_row(uow: UnitOfWorkFactory) -> None:
    first = Blob(PAGE_SHA, "image/jpeg", 6, 1200, 1600)
    async with uow() as unit:
        await unit.blobs.add(first)
        await unit.blobs.add(first)  # the same picture twice in one turn
        await unit.commit()
    async with uow() as unit:
        await unit.blobs.add(Blob(PAGE_SHA, "image/png", 7, 1, 1))  # and again, later
        await unit.commit()

    async with uow(read_only=True) as unit:
        assert await unit.blobs.get(PAGE_SHA) == first  # the first record stays
        assert await unit.blobs.get(PDF_SHA) is None
        count = await unit._require().scalar(text("SELECT count(*) FROM blobs"))
    assert count == 1


async def test_pinned_documents_round_trip_oldest_first(uow: UnitOfWorkFactory) -> None:
    await add_blobs(uow)
    conversation, message = await new_conversation(uow, 1)
    async with uow() as unit:
        scan = pinned("scan.pdf", pages_total=20, pages_read=1, page_images=(PAGE_SHA,))
        first = await unit.documents.add(conversation, message, scan)
        second = await unit.documents.add(conversation, message, pinned("b.pdf", pages_total=3))
        await unit.commit()

    async with uow(read_only=True) as unit:
        documents = await unit.documents.pinned(conversation)

    assert documents == [
        pinned(
            "scan.pdf",
            doc_id=first,
            pages_total=20,
            pages_read=1,
            page_images=(PAGE_SHA,),
            message_id=message,
        ),
        pinned("b.pdf", doc_id=second, pages_total=3, message_id=message),
    ]
    assert documents[0].scanned
    assert not documents[1].scanned


async def test_a_conversation_sees_only_its_own_documents(uow: UnitOfWorkFactory) -> None:
    await add_blobs(uow)
    mine, my_message = await new_conversation(uow, 1)
    theirs, their_message = await new_conversation(uow, 2)
    async with uow() as unit:
        await unit.documents.add(mine, my_message, pinned("mine.pdf"))
        await unit.documents.add(theirs, their_message, pinned("theirs.pdf"))
        await unit.commit()

    async with uow(read_only=True) as unit:
        assert [d.file_name for d in await unit.documents.pinned(mine)] == ["mine.pdf"]
        assert [d.file_name for d in await unit.documents.pinned(theirs)] == ["theirs.pdf"]
        assert await unit.documents.pinned(mine + theirs + 100) == []


async def test_deleting_a_conversation_deletes_its_documents_but_not_the_blobs(
    uow: UnitOfWorkFactory,
) -> None:
    await add_blobs(uow)
    gone, gone_message = await new_conversation(uow, 1)
    kept, kept_message = await new_conversation(uow, 1)
    async with uow() as unit:
        await unit.documents.add(gone, gone_message, pinned("gone.pdf"))
        await unit.documents.add(kept, kept_message, pinned("kept.pdf"))
        await unit.commit()

    async with uow() as unit:
        await unit._require().execute(
            text("DELETE FROM conversations WHERE id = :id"), {"id": gone}
        )
        await unit.commit()

    async with uow(read_only=True) as unit:
        assert await unit.documents.pinned(gone) == []
        assert [d.file_name for d in await unit.documents.pinned(kept)] == ["kept.pdf"]
        rows = await unit._require().scalar(text("SELECT count(*) FROM documents"))
        assert rows == 1
        assert await unit.blobs.get(PDF_SHA) is not None  # shared by hash, still used


async def test_deleting_the_message_keeps_the_document_pinned(uow: UnitOfWorkFactory) -> None:
    await add_blobs(uow)
    conversation, message = await new_conversation(uow, 1)
    async with uow() as unit:
        await unit.documents.add(conversation, message, pinned("a.pdf"))
        await unit.commit()

    async with uow() as unit:
        await unit._require().execute(text("DELETE FROM messages WHERE id = :id"), {"id": message})
        await unit.commit()

    async with uow(read_only=True) as unit:
        [document] = await unit.documents.pinned(conversation)
    assert (document.file_name, document.message_id) == ("a.pdf", None)
