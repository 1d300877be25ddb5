"""Server-sent events decoded from the bytes of a response body, as models stream them.

Follows the event-stream format (WHATWG HTML, "Server-sent events"): lines end with LF, CRLF
or CR (a CRLF may be split between two reads); a blank line ends an event; `data` lines are
joined with LF; one space after the colon is dropped; lines starting with a colon are comments
(keep-alives); `id`, `retry` and unknown fields are ignored (models' streams do not resume).
An event the body ends in the middle of is dropped, as the format says.

Data stays bytes: the JSON parser reads them without a decoding step.
"""

from __future__ import annotations

ServerSentEvent = tuple[str | None, bytes]
"""An event's `event` field (None when it had none: OpenAI's have none) and its data."""

_CR = 13
_LF = 10


class SSEDecoder:
    """Feed it the body's bytes as they arrive; it returns the events they complete.

    An event is dispatched when it had a `data` or an `event` line, even with empty data
    (Anthropic's `error` event must not be lost); what empty data means is the caller's call.
    """

    __slots__ = ("_data", "_event", "_partial", "_skip_lf")

    def __init__(self) -> None:
        self._partial: list[bytes] = []  # the start of a line whose end has not arrived
        self._skip_lf = False  # the last read ended with CR: an LF first in the next is its end
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == _LF:
                chunk = chunk[1:]
        if _LF not in chunk and _CR not in chunk:
            if chunk:
                self._partial.append(chunk)  # joined once its line ends: no quadratic copying
            return []
        if self._partial:
            self._partial.append(chunk)
            chunk = b"".join(self._partial)
            self._partial.clear()
        if _CR in chunk:
            lines = chunk.splitlines()  # bytes: only LF, CRLF and CR end a line
            last = chunk[-1]
            if last == _CR:
                self._skip_lf = True
            elif last != _LF:
                self._partial.append(lines.pop())
        else:  # LF only, the usual case: the last piece is what follows the last LF
            lines = chunk.split(b"\n")
            if rest := lines.pop():
                self._partial.append(rest)
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        for line in lines:
            if not line:
                if self._data or self._event is not None:
                    data = self._data
                    events.append((self._event, data[0] if len(data) == 1 else b"\n".join(data)))
                    self._event = None
                    self._data = []
            elif line.startswith(b"data:"):
                self._data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line.startswith(b"event:"):
                value = line[7:] if line[6:7] == b" " else line[6:]
                self._event = value.decode("utf-8", "replace")
            elif line == b"data":  # a field without a colon has an empty value
                self._data.append(b"")
        return events
