"""A recording becomes text: checked against the limits, counted against the plan's minutes,
downloaded, transcribed. Nothing is kept of a recording that could not be read, and its
minutes are given back."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.chat.limits import LimitNotice
from bot.config import VoiceConfig
from bot.payments.quotas import QuotaService, Reservation
from bot.voice.formats import UnsupportedAudioError, audio_file
from bot.voice.transcriber import Failure, Transcriber, Transcript, TranscriptionError

logger = logging.getLogger(__name__)

Fetch = Callable[[int], Awaitable[bytes]]
"""Downloads the recording, refusing more than the given number of bytes."""


@dataclass(frozen=True, slots=True)
class Clip:
    """A recording as Telegram describes it, before anything is downloaded."""

    file_id: str
    seconds: int
    size: int | None
    kind: str  # "voice", "audio" or "video_note"
    file_name: str | None = None


class VoiceRefusal(Exception):
    """The recording is not transcribed; `key` (with `args`) says why, in locales/."""

    def __init__(self, key: str, **args: Any) -> None:
        super().__init__(key)
        self.key = key
        self.args_ = args


@dataclass(frozen=True, slots=True)
class Heard:
    transcript: Transcript
    reservation: Reservation | None
    seconds: int


class VoiceService:
    def __init__(
        self,
        transcriber: Transcriber | None,
        config: VoiceConfig,
        quotas: QuotaService,
        notice: LimitNotice,
    ) -> None:
        self._transcriber = transcriber
        self._config = config
        self._quotas = quotas
        self.notice = notice  # the reply to a reached limit of minutes

    @property
    def available(self) -> bool:
        return self._transcriber is not None

    @property
    def max_bytes(self) -> int:
        return int(self._config.max_file_mb * 1024 * 1024)

    @property
    def expand_over_chars(self) -> int:
        return self._config.expand_over_chars

    def check(self, clip: Clip) -> None:
        """Refuse before anything is downloaded or counted (VoiceRefusal)."""
        if self._transcriber is None:
            raise VoiceRefusal("voice-no-model")
        limit = self._config.max_duration_seconds
        if clip.seconds > limit:
            raise VoiceRefusal("voice-too-long", minutes=_minutes(limit))
        if clip.size is not None and clip.size > self.max_bytes:
            raise VoiceRefusal("voice-too-large", limit=f"{self._config.max_file_mb:g}")

    async def hear(self, clip: Clip, user_id: int, fetch: Fetch) -> Heard:
        """The transcript, its minutes reserved (raises QuotaExceededError before anything is
        downloaded, VoiceRefusal when it cannot be read; then nothing is counted)."""
        self.check(clip)
        assert self._transcriber is not None  # check() refused otherwise
        seconds = max(1, clip.seconds)
        reservation = await self._quotas.reserve_audio(user_id, seconds)
        try:
            audio = audio_file(await fetch(self.max_bytes), clip.file_name)
            transcript = await self._transcriber.transcribe(audio)
        except UnsupportedAudioError:
            await self._quotas.give_back(reservation)
            raise VoiceRefusal("voice-unsupported-format") from None
        except TranscriptionError as exc:
            await self._quotas.give_back(reservation)
            key = "voice-unsupported-format" if exc.failure is Failure.FORMAT else "voice-failed"
            raise VoiceRefusal(key) from None
        except BaseException:
            await self._quotas.give_back(reservation)
            raise
        if not transcript.text.strip():
            await self._quotas.give_back(reservation)
            raise VoiceRefusal("voice-empty")
        return Heard(transcript, reservation, seconds)

    async def keep(self, heard: Heard) -> None:
        """The recording was answered: its minutes count."""
        if heard.reservation is not None:
            await self._quotas.settle(heard.reservation, heard.seconds, counted=True)

    async def drop(self, heard: Heard) -> None:
        """The recording was not for the bot after all: its minutes do not count."""
        await self._quotas.give_back(heard.reservation)

    async def close(self) -> None:
        if self._transcriber is not None:
            await self._transcriber.close()


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:g}"
