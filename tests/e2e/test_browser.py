"""The chat page in a real browser: what a newcomer does after `make run`.

One sandbox (`python -m bot sandbox`: the demo model, the fake Telegram with its page) and one
headless Chromium (Debian's, driven by Playwright) for the whole module. Screenshots of each
step are written to test-artifacts/browser/ (browser-*.png).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Page, expect

from scripts.browser import chromium, missing_reason, send
from tests.e2e.conftest import PROJECT_ROOT, free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(missing_reason() is not None, reason=f"no browser: {missing_reason()}"),
]

SHOTS = PROJECT_ROOT / "test-artifacts" / "browser"
BOT = "#log .msg.bot:not(.draft)"


@pytest.fixture(scope="module")
async def sandbox_url(
    tmp_path_factory: pytest.TempPathFactory, routing_cache: Path, moderation_cache: Path
) -> AsyncIterator[str]:
    import os

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_ROUTING__CACHE_DIR"] = str(routing_cache)  # trained once for the session
    env["BOT_MODERATION__CACHE_DIR"] = str(moderation_cache)
    data = tmp_path_factory.mktemp("browser-sandbox")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--config", "config.example.toml",
        "--port", str(port), "--data-dir", str(data),
        cwd=PROJECT_ROOT, env=env,
        stdout=(data / "sandbox.log").open("wb"), stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 20)


@pytest.fixture(scope="module")
async def page(sandbox_url: str) -> AsyncIterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        page = await browser.new_page()
        await page.set_viewport_size({"width": 1280, "height": 860})
        for _ in range(300):  # the URL is printed before the bot has loaded
            with contextlib.suppress(Exception):
                await page.goto(sandbox_url)
                break
            await asyncio.sleep(0.1)
        # The banner is hidden until the page has read the panel once: ask the panel itself.
        for _ in range(600):
            panel = await (await page.request.get(sandbox_url + "sandbox/panel")).json()
            if panel["ready"]:
                break
            await asyncio.sleep(0.25)
        else:
            raise AssertionError(f"the sandbox's bot did not start in 150 s: {panel['status']}")
        await expect(page.locator("#banner")).to_be_hidden()
        yield page


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"browser-{name}.png"))


async def set_speed(page: Page, speed: str) -> None:
    await page.select_option("#speed", speed)
    await expect(page.locator("#speed")).to_have_value(speed)
    await page.wait_for_timeout(300)  # the panel's POST


async def bot_count(page: Page) -> int:
    return await page.locator(BOT).count()


async def test_1_an_answer_streams_then_arrives(page: Page) -> None:
    await set_speed(page, "realistic")
    before = await bot_count(page)
    await send(page, "hello there")
    draft = page.locator("#log .msg.draft")
    await expect(draft).to_contain_text("Demo model", timeout=15_000)
    first = await draft.inner_text()
    await page.wait_for_timeout(700)
    assert len(await draft.inner_text()) > len(first)  # it grows while the model streams
    await shot(page, "01-streaming")
    await expect(page.locator(BOT)).to_have_count(before + 1, timeout=30_000)
    await expect(page.locator(BOT).last).to_contain_text("You wrote: «hello there»")


async def test_2_stop_keeps_what_was_written(page: Page) -> None:
    before = await bot_count(page)
    await send(page, "write a long story")
    stop = page.locator("#log .msg.draft button[data-stop]")
    await expect(page.locator("#log .msg.draft")).to_contain_text("Paragraph 1.", timeout=30_000)
    await stop.click()
    await expect(page.locator(BOT)).to_have_count(before + 1, timeout=15_000)
    answer = page.locator(BOT).last
    await expect(answer).to_contain_text("Paragraph 1.")
    assert "Paragraph 12." not in await answer.inner_text()  # stopped well before the end
    await expect(page.locator("#log .msg.draft")).to_have_count(0)
    await shot(page, "02-stopped")


async def test_3_a_keyboard_button_answers_with_a_toast_never_replayed(page: Page) -> None:
    await set_speed(page, "fast")
    await page.locator(f"{BOT} button", has_text="👍").last.click()
    toast = page.locator("#toast")
    await expect(toast).to_be_visible()
    await expect(toast).to_contain_text("Thanks for the feedback")
    await shot(page, "03-button")
    await page.reload()
    await page.wait_for_timeout(1500)  # three refreshes of the chat state
    await expect(toast).to_be_hidden()


def picture() -> bytes:
    image = Image.new("RGB", (480, 270), (40, 80, 210))
    image.paste((245, 140, 30), (0, 0, 480, 120))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_4_a_photo_is_described_and_the_page_stays_at_the_bottom(
    page: Page, tmp_path: Path
) -> None:
    before = await bot_count(page)
    photo = tmp_path / "sunset.png"
    photo.write_bytes(picture())
    await page.fill("#text", "what is on this picture?")
    await page.set_input_files("#file", str(photo))
    await expect(page.locator(BOT)).to_have_count(before + 1, timeout=30_000)
    await expect(page.locator(BOT).last).to_contain_text("480×270 pixels; mostly blue")
    await page.wait_for_timeout(500)  # the picture has loaded
    gap = await page.evaluate(
        "() => { const l = document.getElementById('log');"
        " return l.scrollHeight - l.scrollTop - l.clientHeight; }"
    )
    assert gap < 40  # still at the bottom after the picture loaded
    await shot(page, "04-photo")


async def test_5_switching_to_russian(page: Page) -> None:
    before = await bot_count(page)
    await page.select_option("#ulang", "ru")
    await send(page, "/help")
    await expect(page.locator(BOT)).to_have_count(before + 1, timeout=15_000)
    await expect(page.locator(BOT).last).to_contain_text("Напишите сообщение, и я отвечу.")
    before += 1
    await send(page, "который час в Токио?")
    await expect(page.locator(BOT)).to_have_count(before + 1, timeout=15_000)
    await expect(page.locator(BOT).last).to_contain_text("Инструмент current_time вызван")
    await shot(page, "05-russian")
    await page.select_option("#ulang", "en")


async def test_6_paying_for_a_plan_with_stars(page: Page) -> None:
    before = await bot_count(page)
    await send(page, "/subscribe")
    await expect(page.locator(BOT)).to_have_count(before + 1, timeout=15_000)
    await page.locator(f"{BOT} button", has_text="Week pass · ⭐50").last.click()
    pay = page.locator("#log button[data-pay]").last
    await expect(pay).to_be_visible(timeout=15_000)
    await pay.click()
    await expect(page.locator("#paystatus")).to_contain_text("Paid ⭐50", timeout=15_000)
    await expect(page.locator("#log .service").last).to_contain_text("You paid ⭐50")
    await send(page, "/subinfo")
    await expect(page.locator(BOT).last).to_contain_text("Week pass", timeout=15_000)
    await shot(page, "06-paid")


async def test_7_the_page_is_usable_375_pixels_wide(page: Page) -> None:
    await page.set_viewport_size({"width": 375, "height": 740})
    try:
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375  # nothing sticks out sideways
        await expect(page.locator("aside")).to_be_hidden()
        await expect(page.locator("#text")).to_be_visible()
        await expect(page.locator("form button[type=submit]")).to_be_in_viewport()
        await page.click("#menu")
        await expect(page.locator("#speed")).to_be_visible()
        await shot(page, "07-narrow-375")
        await page.click("#menu")
    finally:
        await page.set_viewport_size({"width": 1280, "height": 860})


async def test_8_the_page_user_is_an_operator_until_switched_off(page: Page) -> None:
    before = await bot_count(page)
    await send(page, "/route how do I reverse a list in Python")
    await expect(page.locator(BOT)).to_have_count(before + 1, timeout=15_000)
    await expect(page.locator(BOT).last).to_contain_text("Route: code")
    await page.uncheck("#operator")  # now user 1002, an ordinary user, in a chat of its own
    await expect(page.locator("#uid")).to_have_value("1002")
    await send(page, "/route how do I reverse a list in Python")
    await expect(page.locator(BOT).last).to_contain_text(
        "This command is for the bot's operators.", timeout=15_000
    )
    await page.check("#operator")
    await expect(page.locator("#uid")).to_have_value("1001")
    await expect(page.locator("#log .msg.user").first).to_contain_text("hello there")  # 1001's


async def test_9_the_panel_fails_the_next_answer_or_scripts_it(page: Page) -> None:
    before = await bot_count(page)
    await page.click("button[data-fault=error]")
    await send(page, "hello again")
    await expect(page.locator(BOT)).to_have_count(before + 1, timeout=15_000)
    await expect(page.locator(BOT).last).to_contain_text("temporarily unavailable")
    await page.fill("#nexttext", "Exactly **these** words.")
    await page.click("#scriptbtn")
    await send(page, "say something")
    await expect(page.locator(BOT)).to_have_count(before + 2, timeout=15_000)
    await expect(page.locator(BOT).last).to_contain_text("Exactly these words.")
    await expect(page.locator(BOT).last.locator("b")).to_have_text("these")
    await shot(page, "09-panel")


async def test_10_export_transcript_downloads_the_chat(page: Page) -> None:
    href = await page.get_attribute("#export", "href")
    assert href == "/sandbox/chats/1001/transcript.md"
    response = await page.request.get(page.url.rstrip("/") + href)
    text = await response.text()
    assert response.headers["content-disposition"].startswith("attachment")
    assert "what is on this picture?" in text
    assert "[photo]" in text


async def test_11_paying_by_card_through_the_payment_form_credits_once(page: Page) -> None:
    await set_speed(page, "fast")
    before = await bot_count(page)
    await send(page, "/subscribe")
    await expect(page.locator(BOT)).to_have_count(before + 1, timeout=15_000)
    await page.locator(f"{BOT} button", has_text="199.00 RUB").last.click()
    pay = page.locator("#log button[data-pay]").last
    await expect(pay).to_have_text("Pay 199.00 RUB", timeout=15_000)
    await pay.click()
    form = page.locator("#payform")
    await expect(form).to_be_visible()
    email = page.locator("#pf-email")  # YooKassa's receipt: the bot asked for the e-mail
    await expect(email).to_have_value("user1001@sandbox.example")
    await expect(page.locator("#pf-phone_number")).to_have_count(0)  # not asked for
    await email.fill("alice@example.com")
    await shot(page, "11-payment-form")
    await page.click("#pfpay")
    await expect(form).to_be_hidden()
    status = page.locator("#paystatus")
    await expect(status).to_contain_text("Paid 199.00 RUB", timeout=15_000)
    await expect(status).to_contain_text("receipt to alice@example.com")
    await expect(page.locator("#log .service").last).to_contain_text("You paid 199.00 RUB")
    await send(page, "/revenue")  # the page's user is the operator
    revenue = page.locator(BOT).last
    await expect(revenue).to_contain_text("199.00 RUB in 1 payments", timeout=15_000)
    await expect(revenue).to_contain_text("⭐50 in 1 payments")  # the Stars one of test 6
    await shot(page, "11-paid-by-card")


async def test_12_the_content_filter_blocks_the_casino_answer_in_the_group(page: Page) -> None:
    await set_speed(page, "realistic")  # the hidden answer takes seconds to write
    await page.click("#tryit button[data-where=group]:has-text('ask about a casino')")
    await expect(page.locator("#ingroup")).to_be_checked()
    await expect(page.locator("#title")).to_contain_text("-1001000000001")
    question = "@sandbox_bot which online casino pays out the fastest?"
    await expect(page.locator("#text")).to_have_value(question)
    await page.click("form button[type=submit]")
    await expect(page.locator("#log .msg.user").last).to_contain_text(question)
    placeholder = page.locator(BOT).last  # the group's first answer
    await expect(placeholder).to_contain_text("Writing…", timeout=20_000)  # words counted
    await shot(page, "12-filter-writing")
    await expect(placeholder).to_contain_text(
        "I can't discuss this topic in this chat.", timeout=30_000
    )
    response = await page.request.get(
        page.url.rstrip("/") + "/sandbox/chats/-1001000000001/transcript"
    )
    shown = [m for m in await response.json() if m["from_bot"]]
    seen = " ".join(
        [m["text"] or "" for m in shown] + [e["text"] or "" for m in shown for e in m["edits"]]
    )
    assert "Writing…" in seen
    assert "bookmaker" not in seen  # nothing of the blocked answer ever reached the group
    await shot(page, "12-filter-refused")
    await page.click("#tryit button[data-where=group]:has-text('/settings')")
    await page.click("form button[type=submit]")
    await expect(page.locator(BOT).last).to_contain_text(
        "Content filter: on in this chat", timeout=15_000
    )
    await page.click("#tryit button[data-where=operator]:has-text('/moderation')")
    await expect(page.locator("#ingroup")).not_to_be_checked()
    await page.click("form button[type=submit]")
    await expect(page.locator(BOT).last).to_contain_text("Gambling (stage local", timeout=15_000)
