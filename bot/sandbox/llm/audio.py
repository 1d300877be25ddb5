"""OpenAI's speech to text (``POST /v1/audio/transcriptions``) in the scripted LLM server.

The transcript is deterministic: a scripted one (``POST /control/transcripts``), else a
sentence naming the recording's duration, read from the file itself (OGG and WAV headers;
other formats are estimated from their size). The language comes from the scripted entry,
else from the file name (``greeting.ru.ogg``, ``hello_en.mp3``), else English. Files that are
not recordings are refused as OpenAI refuses them.
"""

from __future__ import annotations

import re
import struct
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from bot.sandbox.llm.plan import ProtocolError
from bot.voice.formats import format_of

FORMATS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
LANGUAGES = {"en": "english", "ru": "russian", "de": "german", "fr": "french", "es": "spanish"}
_NAME_LANGUAGE = re.compile(r"(?:^|[._-])(" + "|".join(LANGUAGES) + r")(?=[._-]|$)", re.I)
DEFAULT_TEXTS = {
    "en": "This is the sandbox transcript of a {seconds}-second recording.",
    "ru": "Это расшифровка записи длиной {seconds} с из песочницы.",
}


@dataclass(frozen=True)
class TranscriptionRequest:
    model: str
    data: bytes
    file_name: str
    language: str | None
    response_format: str
    stream: bool = False


@dataclass(frozen=True)
class ScriptedTranscript:
    text: str | None = None
    language: str | None = None


def ogg_seconds(data: bytes) -> float | None:
    """An Ogg stream's length: the last page's granule position (48 kHz for Opus, less the
    pre-skip; the Vorbis sample rate otherwise)."""
    last = data.rfind(b"OggS")
    if last < 0 or len(data) < last + 14:
        return None
    (granule,) = struct.unpack_from("<q", data, last + 6)
    head = data.find(b"OpusHead")
    if head >= 0 and len(data) >= head + 12:
        (pre_skip,) = struct.unpack_from("<H", data, head + 10)
        return max(0.0, float(granule - pre_skip) / 48000)
    vorbis = data.find(b"\x01vorbis")
    if vorbis >= 0 and len(data) >= vorbis + 16:
        (rate,) = struct.unpack_from("<I", data, vorbis + 12)
        return granule / rate if rate else None
    return None


def wav_seconds(data: bytes) -> float | None:
    if len(data) < 44:
        return None
    (byte_rate,) = struct.unpack_from("<I", data, 28)
    position = 12
    while position + 8 <= len(data):
        chunk, size = data[position : position + 4], struct.unpack_from("<I", data, position + 4)[0]
        if chunk == b"data":
            return float(size) / byte_rate if byte_rate else None
        position += 8 + size
    return None


def duration(data: bytes, kind: str) -> float:
    found = ogg_seconds(data) if kind == "ogg" else wav_seconds(data) if kind == "wav" else None
    return round(found if found is not None else len(data) / 4000, 2)  # ~32 kbit/s


def name_language(file_name: str) -> str | None:
    match = _NAME_LANGUAGE.search(file_name.rsplit("/", 1)[-1])
    return match.group(1).lower() if match else None


async def parse_transcription(request: web.Request) -> TranscriptionRequest:
    """Read the multipart form as OpenAI does; ProtocolError (400) when it is not valid."""
    if not request.content_type.startswith("multipart/"):
        raise ProtocolError(400, "Expected a multipart/form-data request with a 'file' field.")
    fields: dict[str, str] = {}
    data, file_name = None, ""
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "file":
            file_name = part.filename or ""
            data = await part.read()
        elif part.name:
            fields[part.name] = (await part.read()).decode("utf-8", "replace")
    if data is None:
        raise ProtocolError(400, "Missing required parameter: 'file'.")
    if not fields.get("model"):
        raise ProtocolError(400, "Missing required parameter: 'model'.")
    response_format = fields.get("response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        raise ProtocolError(400, f"Invalid value for 'response_format': {response_format!r}.")
    language = fields.get("language") or None
    if language is not None and language not in LANGUAGES:
        raise ProtocolError(400, f"Invalid language {language!r}: use an ISO-639-1 code.")
    return TranscriptionRequest(
        fields["model"], bytes(data), file_name, language, response_format, False
    )


class Stenographer:
    """Scripted transcripts (oldest first) and the answers to transcription requests."""

    def __init__(self) -> None:
        self._queue: deque[ScriptedTranscript] = deque()

    def script(self, text: str | None = None, language: str | None = None) -> None:
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        self._queue.append(ScriptedTranscript(text, language))

    def pending(self) -> int:
        return len(self._queue)

    def clear(self) -> None:
        self._queue.clear()

    def respond(self, request: TranscriptionRequest) -> tuple[Any, str]:
        """The body and its content type."""
        kind = format_of(request.data)
        if kind is None:
            supported = ", ".join(f"'{f}'" for f in FORMATS)
            raise ProtocolError(400, f"Invalid file format. Supported formats: [{supported}]")
        scripted = self._queue.popleft() if self._queue else ScriptedTranscript()
        language = scripted.language or request.language or name_language(request.file_name) or "en"
        seconds = duration(request.data, kind)
        text = scripted.text
        if text is None:
            template = DEFAULT_TEXTS.get(language, DEFAULT_TEXTS["en"])
            text = template.format(seconds=round(seconds))
        if request.response_format == "text":
            return text, "text/plain"
        if request.response_format in ("srt", "vtt"):
            return _subtitles(text, seconds, request.response_format), "text/plain"
        usage = {"type": "duration", "seconds": round(seconds)}
        if request.response_format == "json":
            return {"text": text, "usage": usage}, "application/json"
        segment = {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": seconds,
            "text": text,
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": -0.2,
            "compression_ratio": 1.0,
            "no_speech_prob": 0.01,
        }
        body = {
            "task": "transcribe",
            "language": LANGUAGES[language],
            "duration": seconds,
            "text": text,
            "segments": [segment],
            "usage": usage,
        }
        return body, "application/json"


def _subtitles(text: str, seconds: float, kind: str) -> str:
    end = f"00:00:{seconds:06.3f}"
    if kind == "srt":
        return f"1\n00:00:00,000 --> {end.replace('.', ',')}\n{text}\n"
    return f"WEBVTT\n\n00:00:00.000 --> {end}\n{text}\n"
