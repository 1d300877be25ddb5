"""Blobs on disk (once each, by hash) and the documents pinned to conversations, on real SQLite."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.blobs import BlobStore
from bot.storage.database import Database, open_database
from bot.storage.dto import Blob, PinnedDocument, Role
from bot.storage.migrate import head_revision, upgrade
from bot.storage.uow import UnitOfWork

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
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'db' / 'bot.sqlite3'}")
    assert await upgrade(db) == head_revision()
    yield db
    await db.close()


async def new_conversation(db: Database, chat_id: int) -> tuple[int, int]:
    """A conversation with one user message; returns their ids."""

    def store(unit: UnitOfWork) -> tuple[int, int]:
        unit.chats.upsert(chat_id, type_="private", title=None)
        conversation = unit.conversations.create(chat_id)
        message = unit.messages.add(conversation, Role.USER, [{"type": "text", "text": "q"}])
        return conversation, message.id

    return await db.write(store)


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


async def add_blobs(db: Database) -> None:
    def store(unit: UnitOfWork) -> None:
        unit.blobs.add(Blob(PDF_SHA, "application/pdf", len(PDF)))
        unit.blobs.add(Blob(PAGE_SHA, "image/jpeg", 6, 1200, 1600))

    await db.write(store)


async def test_the_same_blob_recorded_twice_is_one_row(db: Database) -> None:
    first = Blob(PAGE_SHA, "image/jpeg", 6, 1200, 1600)

    def twice(unit: UnitOfWork) -> None:
        unit.blobs.add(first)
        unit.blobs.add(first)  # the same picture twice in one turn

    await db.write(twice)
    await db.write(lambda unit: unit.blobs.add(Blob(PAGE_SHA, "image/png", 7, 1, 1)))  # later

    def check(unit: UnitOfWork) -> object:
        assert unit.blobs.get(PAGE_SHA) == first  # the first record stays
        assert unit.blobs.get(PDF_SHA) is None
        return unit.session.scalar(text("SELECT count(*) FROM blobs"))

    count = await db.read(check)
    assert count == 1


async def test_pinned_documents_round_trip_oldest_first(db: Database) -> None:
    await add_blobs(db)
    conversation, message = await new_conversation(db, 1)

    def pin(unit: UnitOfWork) -> tuple[int, int]:
        scan = pinned("scan.pdf", pages_total=20, pages_read=1, page_images=(PAGE_SHA,))
        first = unit.documents.add(conversation, message, scan)
        second = unit.documents.add(conversation, message, pinned("b.pdf", pages_total=3))
        return first, second

    first, second = await db.write(pin)

    documents = await db.read(lambda unit: unit.documents.pinned(conversation))

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


async def test_a_conversation_sees_only_its_own_documents(db: Database) -> None:
    await add_blobs(db)
    mine, my_message = await new_conversation(db, 1)
    theirs, their_message = await new_conversation(db, 2)

    def pin(unit: UnitOfWork) -> None:
        unit.documents.add(mine, my_message, pinned("mine.pdf"))
        unit.documents.add(theirs, their_message, pinned("theirs.pdf"))

    await db.write(pin)

    def check(unit: UnitOfWork) -> None:
        assert [d.file_name for d in unit.documents.pinned(mine)] == ["mine.pdf"]
        assert [d.file_name for d in unit.documents.pinned(theirs)] == ["theirs.pdf"]
        assert unit.documents.pinned(mine + theirs + 100) == []

    await db.read(check)


async def test_deleting_a_conversation_deletes_its_documents_but_not_the_blobs(
    db: Database,
) -> None:
    await add_blobs(db)
    gone, gone_message = await new_conversation(db, 1)
    kept, kept_message = await new_conversation(db, 1)

    def pin(unit: UnitOfWork) -> None:
        unit.documents.add(gone, gone_message, pinned("gone.pdf"))
        unit.documents.add(kept, kept_message, pinned("kept.pdf"))

    await db.write(pin)

    await db.write(
        lambda unit: unit.session.execute(
            text("DELETE FROM conversations WHERE id = :id"), {"id": gone}
        )
    )

    def check(unit: UnitOfWork) -> None:
        assert unit.documents.pinned(gone) == []
        assert [d.file_name for d in unit.documents.pinned(kept)] == ["kept.pdf"]
        rows = unit.session.scalar(text("SELECT count(*) FROM documents"))
        assert rows == 1
        assert unit.blobs.get(PDF_SHA) is not None  # shared by hash, still used

    await db.read(check)


async def test_deleting_the_message_keeps_the_document_pinned(db: Database) -> None:
    await add_blobs(db)
    conversation, message = await new_conversation(db, 1)
    await db.write(lambda unit: unit.documents.add(conversation, message, pinned("a.pdf")))

    await db.write(
        lambda unit: unit.session.execute(
            text("DELETE FROM messages WHERE id = :id"), {"id": message}
        )
    )

    [document] = await db.read(lambda unit: unit.documents.pinned(conversation))
    assert (document.file_name, document.message_id) == ("a.pdf", None)
