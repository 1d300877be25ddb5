"""Voice messages: the service's limits and refusals (fakes at our own ports, quotas on real
SQLite), the formats it recognises, the quoted transcript, and the sandbox's transcription
endpoint reading the committed recording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import VoiceConfig
from bot.payments.catalog import Catalog
from bot.payments.config import AudioLimit, QuotasConfig
from bot.payments.quotas import QuotaExceededError, QuotaService
from bot.sandbox.llm.audio import Stenographer, TranscriptionRequest, duration, name_language
from bot.sandbox.llm.plan import ProtocolError
from bot.storage.database import Database
from bot.telegram.quote import MAX_QUOTED, quoted
from bot.voice.formats import AudioFile, UnsupportedAudioError, sniff
from bot.voice.service import Clip, VoiceRefusal, VoiceService
from bot.voice.transcriber import Failure, Transcript, TranscriptionError
from tests.unit.payments_fixtures import (
    FakeClock,
    plan,
)

RECORDING = (Path(__file__).parents[1] / "data/voice/hello_en.ogg").read_bytes()
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
USER = 4242


class FakeTranscriber:
    def __init__(self, text: str = "hello there", failure: Failure | None = None) -> None:
        self.text = text
        self.failure = failure
        self.heard: list[AudioFile] = []

    async def transcribe(self, audio: AudioFile) -> Transcript:
        self.heard.append(audio)
        if self.failure is not None:
            raise TranscriptionError(self.failure, "down")
        return Transcript(self.text)

    async def close(self) -> None:
        pass


def service(
    db: Database, transcriber: FakeTranscriber | None, minutes: float | None = 2
) -> tuple[VoiceService, QuotaService, FakeClock]:
    free = plan("free")
    if minutes is not None:
        free = free.model_copy(update={"audio": AudioLimit(minutes=minutes)})
    clock = FakeClock(T0)
    quotas = QuotaService(db, Catalog({"free": free}, QuotasConfig(), "en"), clock)
    config = VoiceConfig(max_duration_seconds=300, max_file_mb=1)
    return VoiceService(transcriber, config, quotas, lambda exc, t: ("", ())), quotas, clock


async def fetch(limit: int) -> bytes:
    return RECORDING


async def refusal(voice: VoiceService, clip: Clip, fetcher: object = fetch) -> VoiceRefusal:
    with pytest.raises(VoiceRefusal) as info:
        await voice.hear(clip, USER, fetcher)  # type: ignore[arg-type]
    return info.value


async def test_a_recording_is_heard_and_its_minutes_count(db: Database) -> None:
    transcriber = FakeTranscriber("what is the weather")
    voice, quotas, _ = service(db, transcriber)
    heard = await voice.hear(Clip("f1", 70, 5475, "voice"), USER, fetch)
    assert heard.transcript.text == "what is the weather"
    assert transcriber.heard[0].format == "ogg"
    await voice.keep(heard)
    # 70 s of 120 used: 60 s more would pass the limit, and nothing is downloaded for it.
    with pytest.raises(QuotaExceededError) as info:
        await voice.hear(Clip("f2", 60, 5475, "voice"), USER, fetch)
    assert info.value.kind == "audio"
    assert info.value.resets_at == T0 + timedelta(hours=24)
    assert len(transcriber.heard) == 1
    assert await quotas.reserve_audio(USER, 50) is not None  # exactly up to the limit


async def test_refusals_come_before_anything_is_downloaded_or_counted(db: Database) -> None:
    voice, quotas, _ = service(db, FakeTranscriber())
    downloads: list[int] = []

    async def counting(limit: int) -> bytes:
        downloads.append(limit)
        return RECORDING

    too_long = await refusal(voice, Clip("f", 301, 100, "voice"), counting)
    assert (too_long.key, too_long.args_) == ("voice-too-long", {"minutes": "5"})
    too_large = await refusal(voice, Clip("f", 10, 2 * 1024 * 1024, "audio"), counting)
    assert too_large.key == "voice-too-large"
    nobody, _, _ = service(db, None)
    assert (await refusal(nobody, Clip("f", 10, 100, "voice"), counting)).key == "voice-no-model"
    assert not downloads
    assert await quotas.reserve_audio(USER, 120) is not None  # nothing was counted


@pytest.mark.parametrize(
    ("transcriber", "data", "key"),
    [
        (FakeTranscriber(), b"PK\x03\x04zip", "voice-unsupported-format"),
        (FakeTranscriber(failure=Failure.FORMAT), RECORDING, "voice-unsupported-format"),
        (FakeTranscriber(failure=Failure.UNAVAILABLE), RECORDING, "voice-failed"),
        (FakeTranscriber("   "), RECORDING, "voice-empty"),
    ],
    ids=["not-audio", "server-refuses-format", "server-down", "silence"],
)
async def test_a_recording_that_cannot_be_read_gives_its_minutes_back(
    db: Database, transcriber: FakeTranscriber, data: bytes, key: str
) -> None:
    voice, quotas, _ = service(db, transcriber)

    async def download(limit: int) -> bytes:
        return data

    assert (await refusal(voice, Clip("f", 100, 100, "voice"), download)).key == key
    assert await quotas.reserve_audio(USER, 120) is not None  # the 100 s were released


async def test_without_plans_recordings_are_not_counted(db: Database) -> None:
    voice, quotas, _ = service(db, FakeTranscriber(), minutes=None)
    assert await quotas.reserve_audio(USER, 10_000) is None
    heard = await voice.hear(Clip("f", 200, 100, "voice"), USER, fetch)
    assert heard.reservation is None


def test_formats_are_told_by_their_first_bytes() -> None:
    assert sniff(RECORDING) == "ogg"
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "wav"
    assert sniff(b"\x00\x00\x00\x20ftypM4A ") == "mp4"
    assert sniff(b"ID3\x04rest") == "mp3"
    with pytest.raises(UnsupportedAudioError):
        sniff(b"%PDF-1.7")
    assert AudioFile(RECORDING, "ogg", "privet_ru.ogg").file_name == "privet_ru.ogg"
    assert AudioFile(RECORDING, "ogg", "../../etc/passwd").file_name == "audio.ogg"


def test_a_long_transcript_is_collapsed_and_cut_to_one_message() -> None:
    text, [entity] = quoted("🎙 Transcript:", "short words", 300)
    assert (entity.type, entity.offset, entity.length) == ("blockquote", 15, 11)
    assert text.endswith("short words")
    text, [entity] = quoted("🎙", "𝔸" * 5000, 300)  # astral characters: two UTF-16 units
    assert entity.type == "expandable_blockquote"
    assert entity.length <= MAX_QUOTED
    assert text.endswith("…")


def test_the_sandbox_reads_the_real_recording() -> None:
    assert duration(RECORDING, "ogg") == pytest.approx(3.16, abs=0.01)
    assert name_language("greeting.ru.ogg") == "ru"
    assert name_language("hello_en.ogg") == "en"
    assert name_language("rules.ogg") is None
    steno = Stenographer()
    request = TranscriptionRequest("whisper", RECORDING, "privet_ru.ogg", None, "verbose_json")
    body, _ = steno.respond(request)
    assert body["language"] == "russian"
    assert body["duration"] == pytest.approx(3.16, abs=0.01)
    assert body["text"] == "Это расшифровка записи длиной 3 с из песочницы."
    steno.script("scripted words", "en")
    plain, kind = steno.respond(TranscriptionRequest("w", RECORDING, "a.ogg", None, "text"))
    assert (plain, kind) == ("scripted words", "text/plain")
    with pytest.raises(ProtocolError, match="Invalid file format"):
        steno.respond(TranscriptionRequest("w", b"not audio", "a.ogg", None, "json"))
