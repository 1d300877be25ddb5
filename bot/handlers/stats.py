"""/stats for operators: the numbers as text, then the chart of the last 30 days."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.handlers.operators import BotAdmin
from bot.i18n import Translator
from bot.stats.chart import ChartLabels, activity_chart
from bot.stats.render import report_text
from bot.stats.service import StatsService

logger = logging.getLogger(__name__)
router = Router(name=__name__)

MAX_DAYS = 365


@router.message(Command("stats"), BotAdmin())
async def stats(
    message: Message, command: CommandObject, t: Translator, stats_service: StatsService
) -> None:
    arg = (command.args or "").strip()
    if arg and (not arg.isdigit() or not 1 <= int(arg) <= MAX_DAYS):
        await message.answer(t("stats-usage", max=MAX_DAYS))
        return
    report = await stats_service.report(int(arg) if arg else 30)
    logger.info("/stats computed in %.3f s", report.seconds)
    await message.answer(report_text(report, t))
    labels = ChartLabels(
        title=t("stats-chart-title"),
        questions=t("stats-chart-questions"),
        users=t("stats-chart-users"),
        answers=t("stats-chart-answers"),
    )
    png = await activity_chart(report.daily, labels)
    await message.answer_photo(
        BufferedInputFile(png, "activity.png"), caption=t("stats-chart-caption")
    )
