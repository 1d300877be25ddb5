"""Albums collected into one turn, file kinds by name and type, per-provider input limits."""

from __future__ import annotations

import asyncio

import pytest

from bot.chat.inputs import UserInput
from bot.chat.ordering import ChatLocks, PasteMerger
from bot.config import ProviderConfig
from bot.documents.reading import DOCX_TYPE, Kind, kind_of
from bot.llm.registry import input_limits
from bot.llm.spec import InputLimits
from bot.storage.dto import UpdateMark


def photo(
    ref: str, album: str | None = "g1", caption: str = "", user: int = 1, update: int = 1
) -> UserInput:
    return UserInput(
        chat_id=1,
        user_id=user,
        text=caption,
        updates=(UpdateMark(update),),
        album_id=album,
        attachment_refs=(ref,),
    )


def text(body: str, user: int = 1, update: int = 1) -> UserInput:
    return UserInput(chat_id=1, user_id=user, text=body, updates=(UpdateMark(update),))


# UserInput


def test_a_photo_of_the_same_album_continues_it() -> None:
    assert photo("a").continues(photo("b"))


@pytest.mark.parametrize(
    "later",
    [
        pytest.param(photo("b", album="g2"), id="another-album"),
        pytest.param(text("and what about this?"), id="plain-text"),
        pytest.param(photo("b", album=None), id="single-photo"),
        pytest.param(photo("b", user=2), id="another-user"),
    ],
)
def test_only_the_same_users_same_album_joins_an_album(later: UserInput) -> None:
    assert not photo("a").continues(later)


@pytest.mark.parametrize(
    "later",
    [
        pytest.param(photo("b"), id="album-photo"),
        pytest.param(photo("b", album=None), id="single-photo"),
    ],
)
def test_a_photo_does_not_join_a_text(later: UserInput) -> None:
    assert not text("x" * 4000).continues(later)
    assert text("x" * 4000).continues(text("the rest"))  # but a paste's next part does


def test_album_parts_merge_captions_refs_and_updates_in_order() -> None:
    album = photo("a", caption="", update=10)
    album = album.merged_with(photo("b", caption="What is on these?", update=11))
    album = album.merged_with(photo("c", caption="Be brief.", update=12))

    assert album.attachment_refs == ("a", "b", "c")
    assert album.text == "What is on these?\nBe brief."  # no blank line for the empty caption
    assert album.update_ids == (10, 11, 12)
    assert album.album_id == "g1"
    assert album.needs_vision


# PasteMerger with an album window


async def test_an_album_becomes_one_turn_after_its_window() -> None:
    merger = PasteMerger(ChatLocks(), window=5, threshold=3000)  # a long paste window
    runs: list[UserInput] = []

    async def run(turn: UserInput) -> None:
        runs.append(turn)

    merger.defer(photo("a", caption="Which is older?", update=1), run, window=0.1)
    await asyncio.sleep(0.05)
    assert merger.try_append(photo("b", update=2))
    await asyncio.sleep(0.05)
    assert merger.try_append(photo("c", update=3))
    assert runs == []  # each part moves the deadline
    await asyncio.sleep(0.3)  # the album window, not the 5 s paste window

    [album] = runs
    assert album.attachment_refs == ("a", "b", "c")
    assert album.text == "Which is older?"
    assert album.update_ids == (1, 2, 3)
    await merger.close()


async def test_another_update_flushes_a_pending_album_first() -> None:
    locks = ChatLocks()
    merger = PasteMerger(locks, window=5, threshold=3000)
    log: list[str] = []

    async def run(turn: UserInput) -> None:
        log.append("album " + "".join(turn.attachment_refs))

    merger.defer(photo("a"), run, window=5)
    assert merger.try_append(photo("b"))
    assert not merger.try_append(text("/help"))  # not a part: the middleware flushes
    async with locks.hold(1):
        await merger.flush(1)
        log.append("command")
    assert not merger.try_append(photo("c"))  # too late to join
    await merger.close()

    assert log == ["album ab", "command"]


async def test_another_members_message_does_not_cut_an_album_short() -> None:
    locks = ChatLocks()
    merger = PasteMerger(locks, window=5, threshold=3000)
    runs: list[tuple[str, ...]] = []

    async def run(turn: UserInput) -> None:
        runs.append(turn.attachment_refs)

    merger.defer(photo("a", user=1), run, window=0.2)
    async with locks.hold(1):
        await merger.flush(1, user_id=2)  # group chatter from someone else
    assert merger.try_append(photo("b", user=1))  # the album is still collecting
    async with locks.hold(1):
        await merger.flush(1, user_id=1)  # its sender writing something else ends it
    assert runs == [("a", "b")]
    await merger.close()


def test_the_other_photos_of_a_refused_album_are_swallowed() -> None:
    merger = PasteMerger(ChatLocks(), window=5, threshold=3000)
    merger.drop_album(1, "g1")
    assert merger.try_append(photo("b"))  # taken, and nothing will run
    assert not merger.try_append(photo("c", album="g2"))  # another album is not affected


# File kinds


@pytest.mark.parametrize(
    ("name", "mime", "kind"),
    [
        ("report.pdf", "application/pdf", "pdf"),
        ("REPORT.PDF", None, "pdf"),
        ("download", "application/pdf", "pdf"),
        ("letter.docx", None, "docx"),
        ("letter", DOCX_TYPE, "docx"),
        ("photo.jpg", "image/jpeg", "image"),
        ("Scan.PNG", None, "image"),
        ("camera", "image/heic", "image"),
        ("notes.txt", "text/plain", "text"),
        ("README.md", None, "text"),
        ("data.csv", None, "text"),
        ("config.yaml", None, "text"),
        ("main.py", "text/x-python", "text"),
        ("lib.rs", None, "text"),
        ("app.tsx", "application/octet-stream", "text"),
        ("payload", "application/json", "text"),
        ("anything", "text/x-custom", "text"),
        ("setup.exe", "application/x-msdownload", None),
        ("archive.zip", "application/zip", None),
        ("song.mp3", "audio/mpeg", None),
        ("old.doc", "application/msword", None),
        ("blob", None, None),
    ],
)
def test_kind_of_a_file(name: str, mime: str | None, kind: Kind | None) -> None:
    assert kind_of(name, mime) == kind


# Provider input limits


@pytest.mark.parametrize(
    ("provider", "side"),
    [
        pytest.param(ProviderConfig(type="anthropic"), 1568, id="anthropic-default"),
        pytest.param(ProviderConfig(type="openai_compatible"), 2048, id="openai-default"),
        pytest.param(ProviderConfig(type="anthropic", image_max_side=1024), 1024, id="override"),
        pytest.param(
            ProviderConfig(type="openai_compatible", image_max_side=768), 768, id="override-oa"
        ),
    ],
)
def test_image_side_limit_per_provider(provider: ProviderConfig, side: int) -> None:
    assert provider.image_side_limit == side
    assert input_limits(provider).image_max_side == side


def test_input_limits_carry_the_pdf_limits_in_bytes() -> None:
    provider = ProviderConfig(type="anthropic", pdf_max_pages=40, pdf_max_mb=0.5)

    assert input_limits(provider) == InputLimits(
        image_max_side=1568, pdf_max_pages=40, pdf_max_bytes=512 * 1024
    )
