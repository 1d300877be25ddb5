"""The README's picture of the sandbox: `make screenshot` writes docs/sandbox.png.

Starts `python -m bot sandbox` on a free port with a fresh data folder, waits for the bot,
then, in headless Chromium, asks for a calculation and the time in Tokyo and sends a
picture, and takes a screenshot of the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import socket
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.async_api import ViewportSize

from scripts.browser import chromium, missing_reason, send, wait_for_bot_messages

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "sandbox.png"
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sample_picture(path: Path) -> Path:
    """A small picture for the demo model to describe: a sunset of orange over blue."""
    image = Image.new("RGB", (480, 200), (40, 80, 210))
    image.paste((245, 140, 30), (0, 0, 480, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


async def start_sandbox(port: int, data: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--port", str(port), "--data-dir", str(data),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def served(port: int) -> None:
    """Until the sandbox accepts connections (its page is printed within seconds)."""
    for _ in range(600):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError("the sandbox did not start")


async def take(url: str, picture: Path, output: Path) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.set_viewport_size(VIEWPORT)
        await page.goto(url)
        await page.wait_for_function(
            "() => document.getElementById('banner').style.display === 'none'", timeout=120_000
        )
        await send(page, "what is 17*23+5?")
        await wait_for_bot_messages(page, 1)
        await send(page, "what time is it in Tokyo?")
        await wait_for_bot_messages(page, 2)
        await page.fill("#text", "what is on this picture?")
        await page.set_input_files("#file", str(picture))
        await wait_for_bot_messages(page, 3)
        await page.wait_for_timeout(500)
        await page.screenshot(path=str(output))


async def main() -> int:
    if (reason := missing_reason()) is not None:
        print(f"cannot take the screenshot: {reason}", file=sys.stderr)
        return 1
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        process = await start_sandbox(port, Path(tmp) / "data")
        try:
            await served(port)
            await take(
                f"http://127.0.0.1:{port}/", sample_picture(Path(tmp) / "sunset.png"), OUTPUT
            )
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            await process.wait()
    print(f"{OUTPUT} written")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
