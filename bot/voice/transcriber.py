"""Speech to text through an OpenAI-compatible `/audio/transcriptions` endpoint.

OpenAI's transcription models, vLLM serving Whisper, faster-whisper and whisper.cpp servers
all speak it; the official `openai` SDK is used unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol

import openai

from bot.voice.formats import AudioFile

logger = logging.getLogger(__name__)


class Failure(StrEnum):
    UNAVAILABLE = "unavailable"  # down, unreachable, refusing us (401/403/5xx), out of time
    FORMAT = "format"  # the server could not read the recording (400)


class TranscriptionError(Exception):
    def __init__(self, failure: Failure, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str | None = None  # as the server detected it (verbose_json only)
    seconds: float | None = None  # the recording's duration as the server measured it


class Transcriber(Protocol):
    async def transcribe(self, audio: AudioFile) -> Transcript: ...

    async def close(self) -> None: ...


class OpenAITranscriber:
    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        *,
        timeout: float,
        response_format: Literal["verbose_json", "json"] = "verbose_json",
    ) -> None:
        self._client = client
        self._model = model
        self._timeout = timeout
        self._format: Literal["verbose_json", "json"] = response_format

    async def transcribe(self, audio: AudioFile) -> Transcript:
        try:
            result: Any = await self._client.audio.transcriptions.create(
                file=(audio.file_name, audio.data, audio.mime_type),
                model=self._model,
                response_format=self._format,
                timeout=self._timeout,
            )
        except openai.APIStatusError as exc:
            logger.warning("transcription failed: HTTP %s: %s", exc.status_code, exc.message)
            if exc.status_code in (400, 415, 422):
                raise TranscriptionError(Failure.FORMAT, exc.message) from None
            raise TranscriptionError(Failure.UNAVAILABLE, exc.message) from None
        except openai.OpenAIError as exc:  # connection refused, time-out, ...
            logger.warning("transcription failed: %r", exc)
            raise TranscriptionError(Failure.UNAVAILABLE, type(exc).__name__) from None
        text = str(getattr(result, "text", "") or "").strip()
        language = getattr(result, "language", None)
        seconds = getattr(result, "duration", None)
        return Transcript(
            text,
            language if isinstance(language, str) else None,
            float(seconds) if isinstance(seconds, int | float) else None,
        )

    async def close(self) -> None:
        await self._client.close()
