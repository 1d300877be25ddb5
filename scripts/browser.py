"""Headless Chromium for the browser test and the README screenshot.

Playwright cannot download its own browsers here, so it drives Debian's Chromium
(`apt-get install chromium`; `.ci/run` installs it when missing).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import BrowserContext, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing_reason() -> str | None:
    """Why no browser can be started here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    return None


@asynccontextmanager
async def chromium() -> AsyncIterator[BrowserContext]:
    """Debian's Chromium, headless, with a fresh profile (--user-data-dir) removed afterwards."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=ARGS
            )
            try:
                yield context
            finally:
                await context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


async def send(page: Page, text: str) -> None:
    """Type a message into the chat page and press Enter."""
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def wait_for_bot_messages(page: Page, count: int, seconds: float = 30.0) -> list[str]:
    """The texts of the bot's (final) messages once there are at least ``count``."""
    selector = "#log .msg.bot:not(.draft)"
    await page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length >= n",
        arg=[selector, count],
        timeout=seconds * 1000,
    )
    return list(await page.locator(selector).all_inner_texts())
