"""The current_time tool: the date and time in an IANA zone or a fixed UTC offset."""

from __future__ import annotations

import asyncio
import functools
import re
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Annotated

from pydantic import Field

from bot.tools.base import Tool, ToolContext, ToolError, define_tool

_OFFSET = re.compile(
    r"^(?:UTC|GMT|Z)?\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?$",
    re.IGNORECASE,
)
_UTC_NAMES = frozenset({"utc", "gmt", "z", "zulu", "universal"})
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EXAMPLES = "'Europe/Moscow', 'America/New_York', 'Asia/Tokyo' or an offset like 'UTC+3'"


def _fixed_offset(match: re.Match[str]) -> tzinfo:
    hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
    if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
        raise ToolError(f"the offset must be between UTC-14:00 and UTC+14:00, e.g. {_EXAMPLES}")
    delta = timedelta(hours=hours, minutes=minutes)
    delta = -delta if match["sign"] == "-" else delta
    return timezone(delta, f"UTC{_format_offset(delta)}")


@functools.cache
def _zones_by_lowercase() -> dict[str, str]:
    """Every IANA key, and every last component ('new_york'), by its lowercase form."""
    zones: dict[str, str] = {}
    for key in sorted(zoneinfo.available_timezones()):
        zones[key.lower()] = key
        zones.setdefault(key.rsplit("/", 1)[-1].lower(), key)
    return zones


def resolve_zone(name: str) -> tzinfo:
    """A tzinfo for an IANA name (case-insensitive; 'New York' finds America/New_York) or a
    'UTC+3' / 'GMT-05:30' style offset. Blocking (reads the zone database): run in a thread."""
    text = name.strip()
    if not text or text.lower() in _UTC_NAMES:
        return UTC
    if match := _OFFSET.match(text):
        return _fixed_offset(match)
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    key = _zones_by_lowercase().get(text.replace(" ", "_").lower())
    if key is None:
        raise ToolError(f"unknown time zone '{text}'; use an IANA name such as {_EXAMPLES}")
    return zoneinfo.ZoneInfo(key)


def _format_offset(delta: timedelta | None) -> str:
    seconds = int((delta or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def describe(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    name = getattr(zone, "key", None) or local.tzname() or "UTC"
    offset = f"UTC{_format_offset(local.utcoffset())}"
    details = [part for part in dict.fromkeys((local.tzname() or name, offset)) if part != name]
    suffix = f" ({', '.join(details)})" if details else ""
    weekday = _WEEKDAYS[local.weekday()]
    return f"{local.isoformat(timespec='seconds')} ({weekday}), time zone {name}{suffix}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Clock:
    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or _utc_now

    async def current_time(
        self,
        ctx: ToolContext,
        timezone: Annotated[
            str,
            Field(
                description="An IANA time zone such as 'Europe/Moscow' or 'America/New_York', "
                "or an offset such as 'UTC+3'. Defaults to UTC."
            ),
        ] = "UTC",
    ) -> str:
        """Get the current date and time; use it whenever the answer depends on today's date,
        the time or the weekday. Returns the local time in ISO 8601 with the weekday, the zone's
        abbreviation and its UTC offset."""
        zone = await asyncio.to_thread(resolve_zone, timezone)
        moment = self._now()
        if moment.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return describe(moment, zone)

    def tool(self, timeout: float) -> Tool:
        return define_tool(
            self.current_time,
            name="current_time",
            status_key="tool-status-current-time",
            timeout=timeout,
        )
