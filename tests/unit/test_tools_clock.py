"""current_time: local time in IANA zones and fixed offsets, from an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.tools.base import ToolError
from bot.tools.clock import Clock

CTX: Any = object()
SUMMER = datetime(2024, 7, 1, 12, 30, 5, tzinfo=UTC)  # a Monday
WINTER = datetime(2024, 1, 6, 23, 0, 0, tzinfo=UTC)  # a Saturday


async def now_in(moment: datetime, **arguments: str) -> str:
    return await Clock(lambda: moment).tool(5).call(CTX, arguments)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (
            "Europe/Moscow",
            "2024-07-01T15:30:05+03:00 (Monday), time zone Europe/Moscow (MSK, UTC+03:00)",
        ),
        (
            "America/New_York",
            "2024-07-01T08:30:05-04:00 (Monday), time zone America/New_York (EDT, UTC-04:00)",
        ),
        (
            "asia/kolkata",
            "2024-07-01T18:00:05+05:30 (Monday), time zone Asia/Kolkata (IST, UTC+05:30)",
        ),
        (
            "New York",
            "2024-07-01T08:30:05-04:00 (Monday), time zone America/New_York (EDT, UTC-04:00)",
        ),
        ("UTC", "2024-07-01T12:30:05+00:00 (Monday), time zone UTC (UTC+00:00)"),
        ("UTC+3", "2024-07-01T15:30:05+03:00 (Monday), time zone UTC+03:00"),
        ("GMT-05:30", "2024-07-01T07:00:05-05:30 (Monday), time zone UTC-05:30"),
        ("+0545", "2024-07-01T18:15:05+05:45 (Monday), time zone UTC+05:45"),
    ],
)
async def test_local_time(zone: str, expected: str) -> None:
    assert await now_in(SUMMER, timezone=zone) == expected


async def test_default_is_utc_and_dst_is_followed() -> None:
    assert await now_in(SUMMER) == "2024-07-01T12:30:05+00:00 (Monday), time zone UTC (UTC+00:00)"
    # New York is on EST in winter, and the date there is still Saturday
    winter = await now_in(WINTER, timezone="America/New_York")
    assert (
        winter
        == "2024-01-06T18:00:00-05:00 (Saturday), time zone America/New_York (EST, UTC-05:00)"
    )
    # in Tokyo it is already Sunday
    assert "2024-01-07T08:00:00+09:00 (Sunday)" in await now_in(WINTER, timezone="Asia/Tokyo")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime"])
async def test_unknown_zone_is_named_with_examples(zone: str) -> None:
    with pytest.raises(ToolError, match="unknown time zone") as caught:
        await now_in(SUMMER, timezone=zone)
    message = str(caught.value)
    assert zone in message
    assert "Europe/Moscow" in message
    assert "America/New_York" in message


async def test_offset_out_of_range_is_refused() -> None:
    with pytest.raises(ToolError, match="between UTC-14:00 and UTC\\+14:00"):
        await now_in(SUMMER, timezone="UTC+15")


async def test_real_clock_is_timezone_aware_and_current() -> None:
    before = datetime.now(UTC)
    text = await Clock().tool(5).call(CTX, {"timezone": "UTC"})
    stamp = datetime.fromisoformat(text.split(" ")[0])
    assert stamp.tzinfo is not None
    assert abs((stamp - before).total_seconds()) < 5
