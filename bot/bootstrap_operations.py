"""Part of the composition root: the operations side of the bot, built here and called from
`bootstrap.build_application` (which stays the one place that wires the application).

- Prometheus metrics: every Bot API attempt counted, every model stream timed, and gauges
  read at scrape time from the objects that keep them;
- the server of /metrics, /healthz and /readyz (`[observability]`);
- broadcasts: their runner, paced at `[broadcasts] share` of `[telegram]
  global_messages_per_second`.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot
from sqlalchemy import text

from bot.broadcasts.runner import BroadcastRunner, Guard, Pace
from bot.broadcasts.service import BroadcastService
from bot.broadcasts.telegram import TelegramProgress, TelegramSender
from bot.chat.generations import Generations
from bot.chat.ordering import ChatLocks
from bot.config import Settings
from bot.i18n import I18n
from bot.llm.registry import ModelRegistry
from bot.observability import metrics
from bot.observability.llm import MeteredModel
from bot.observability.server import Check, ObservabilityServer, TelegramReachability
from bot.observability.telegram import TelegramMetrics
from bot.storage.database import Database
from bot.telegram.intake import Intake
from bot.telegram.pacing import Pacer


def instrument_telegram(bot: Bot) -> TelegramMetrics:
    """Count each Bot API attempt; installed after the retry and the pacer (innermost)."""
    calls = TelegramMetrics()
    bot.session.middleware(calls)
    return calls


def metered(models: ModelRegistry) -> ModelRegistry:
    """The same models, each stream timed and its tokens counted."""
    return models.wrapped(MeteredModel)


def broadcast_service(
    settings: Settings, bot: Bot, i18n: I18n, db: Database, guard: Guard | None = None
) -> BroadcastService:
    """`guard`: with several processes, who may send a broadcast (see BroadcastRunner)."""
    cfg = settings.broadcasts
    pace = Pace(
        rate=cfg.share * settings.telegram.global_messages_per_second,
        progress_interval=cfg.progress_interval_seconds,
    )
    sender = TelegramSender(bot, i18n, cfg.retry_seconds)
    runner = BroadcastRunner(db, sender, TelegramProgress(bot, i18n), pace, guard)
    return BroadcastService(db, runner)


def observability_server(
    settings: Settings,
    *,
    db: Database,
    bot: Bot,
    calls: TelegramMetrics,
    watched: Watched,
    stopping: Callable[[], bool],
) -> ObservabilityServer | None:
    """The server of /metrics, /healthz and /readyz (None with `metrics = false`)."""
    cfg = settings.observability
    if not cfg.metrics:
        return None
    watched.register()

    async def database() -> None:
        await db.read(lambda uow: uow.session.execute(text("SELECT 1")))

    async def get_me() -> None:
        await bot.get_me()

    checks: dict[str, Check] = {
        "database": database,
        "telegram": TelegramReachability(calls, get_me),
    }
    return ObservabilityServer(cfg.metrics_host, cfg.metrics_port, checks, stopping)


class Watched:
    """What the gauges and the pacer's counters read at scrape time."""

    def __init__(
        self, pacer: Pacer, locks: ChatLocks, intake: Intake, generations: Generations
    ) -> None:
        self.pacer, self.locks, self.intake, self.generations = pacer, locks, intake, generations

    def register(self) -> None:
        pacer, locks, intake, generations = self.pacer, self.locks, self.intake, self.generations
        metrics.gauge("bot_active_answers", "Answers being generated now", lambda: len(generations))
        metrics.gauge(
            "bot_queue_depth",
            "Updates waiting behind their chat's current one",
            lambda: locks.waiting,
        )
        metrics.gauge(
            "bot_updates_in_flight", "Updates being handled now", lambda: intake.in_flight
        )
        metrics.counter(
            "bot_pacing_wait_seconds",
            "Seconds Bot API calls were held by the pacer (flood limits)",
            lambda: pacer.stats.waited_seconds_total,
        )
        metrics.counter(
            "bot_pacing_dropped",
            "Progress updates dropped for lack of budget",
            lambda: pacer.stats.dropped,
        )
