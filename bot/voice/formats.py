"""Which recordings a transcription server takes: told by the file's first bytes, not its name.

OpenAI's `/audio/transcriptions` (and vLLM, faster-whisper and whisper.cpp servers after it)
reads flac, mp3, mp4/m4a, mpeg, ogg (Opus or Vorbis), wav and webm. Telegram's voice messages
are OGG/Opus, video notes MP4; audio files can be anything, so they are sniffed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SAFE_NAME = re.compile(r"[\w.-]{1,100}")

MIME_TYPES = {
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "mp4": "audio/mp4",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "webm": "audio/webm",
}


class UnsupportedAudioError(Exception):
    """Not a recording the transcription server can read."""


@dataclass(frozen=True, slots=True)
class AudioFile:
    data: bytes
    format: str  # a key of MIME_TYPES
    name: str | None = None  # the user's file name (audio files have one)

    @property
    def file_name(self) -> str:
        """What the server is told: the user's name (servers may read a language or the
        format from it), else `audio.<format>`."""
        if self.name and _SAFE_NAME.fullmatch(self.name):
            return self.name
        return f"audio.{self.format}"

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.format]


def format_of(data: bytes) -> str | None:
    """The container format of `data`, told by its first bytes (None: not one we know)."""
    if data.startswith(b"OggS"):
        return "ogg"
    if data.startswith(b"fLaC"):
        return "flac"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def sniff(data: bytes) -> str:
    """The container format of `data`; raises UnsupportedAudioError."""
    found = format_of(data)
    if found is None:
        raise UnsupportedAudioError("not a recording in a format transcription servers read")
    return found


def audio_file(data: bytes, name: str | None = None) -> AudioFile:
    return AudioFile(data, sniff(data), name)
