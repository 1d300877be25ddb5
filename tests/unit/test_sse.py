"""The SSE decoder: events from a body however the network splits it."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from bot.llm.sse import ServerSentEvent, SSEDecoder

# Every case the decoder must handle, in one body: LF, CRLF and CR line ends, comments,
# ignored fields, multi-line data, a missing space, two spaces, non-ASCII, [DONE].
BODY = (
    b": keep-alive\n\n"
    b'data: {"a": 1}\n\n'
    b"event: message_start\r\n"
    b'data: {"b": "\xd0\xbf\xd1\x80\xd0\xb8"}\r\n\r\n'
    b"id: 42\rretry: 1000\rdata:no space\r\r"
    b"data:  two spaces\n\n"
    b'data: {"multi":\ndata: "line"}\n\n'
    b"event: ping\n\n"
    b"id: only an id\n\n"
    b"data\n\n"
    b"unknown: field\ndata: [DONE]\n\n"
    b"data: the body ends before this event does\n"
)
EXPECTED = [
    (None, b'{"a": 1}'),
    ("message_start", '{"b": "при"}'.encode()),
    (None, b"no space"),
    (None, b" two spaces"),
    (None, b'{"multi":\n"line"}'),
    ("ping", b""),
    (None, b""),
    (None, b"[DONE]"),
]


def decode(*pieces: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [event for piece in pieces for event in decoder.feed(piece)]


def test_a_whole_body_gives_its_events() -> None:
    assert decode(BODY) == EXPECTED


def test_a_body_fed_byte_by_byte_gives_the_same_events() -> None:
    assert decode(*(BODY[i : i + 1] for i in range(len(BODY)))) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(BODY)), max_size=12))
def test_a_body_split_anywhere_gives_the_same_events(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(BODY)]
    assert decode(*(BODY[a:b] for a, b in itertools.pairwise(bounds))) == EXPECTED


def test_a_crlf_split_between_reads_is_one_line_end() -> None:
    # Were the LF read as a second line end, the blank line would end the event early.
    assert decode(b"event: a\r", b"\ndata: 1\r", b"\n\r", b"\n") == [("a", b"1")]
    assert decode(b"data: 1\r", b"", b"\n", b"\r\n") == [(None, b"1")]


def test_events_come_as_soon_as_their_blank_line_arrives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: 1\n") == []
    assert decoder.feed(b"\ndata: 2") == [(None, b"1")]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [(None, b"2")]


def test_the_event_name_does_not_carry_over_to_the_next_event() -> None:
    assert decode(b"event: error\ndata: x\n\ndata: y\n\n") == [
        ("error", b"x"),
        (None, b"y"),
    ]


def test_comments_and_blank_lines_alone_give_nothing() -> None:
    assert decode(b": ping\n\n\n\r\n:another\r\r") == []
