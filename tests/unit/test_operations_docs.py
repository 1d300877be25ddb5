"""docs/operations.md stays true to the code: its metric table lists exactly what the bot
exports, and every metric its alert rules and the Grafana dashboard query exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aiogram import Bot, Dispatcher
from prometheus_client import generate_latest

from bot.bootstrap_operations import Watched
from bot.chat.generations import Generations
from bot.chat.ordering import ChatLocks
from bot.observability.metrics import REGISTRY
from bot.telegram.intake import Intake
from bot.telegram.pacing import Pacer

DOCS = Path(__file__).parents[2] / "docs"
METRIC = re.compile(r"\bbot_[a-z0-9_]+")
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


async def exported() -> dict[str, str]:
    """Every metric family the bot exports (name as scraped: counters end in _total)."""
    bot = Bot("123456:AAH-docs-test-token")
    try:
        Watched(Pacer(), ChatLocks(), Intake(Dispatcher(), bot), Generations()).register()
    finally:
        await bot.session.close()
    text = generate_latest(REGISTRY).decode()
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    return {name: kind for name, kind in types.items() if not name.endswith("_created")}


def queried(text: str, names: dict[str, str]) -> set[str]:
    """Metric names a PromQL text uses that the bot does not export."""
    unknown = set()
    for name in METRIC.findall(text):
        base = next((name[: -len(s)] for s in HISTOGRAM_SERIES if name.endswith(s)), name)
        if name not in names and names.get(base) != "histogram":
            unknown.add(name)
    return unknown


async def test_the_metric_table_lists_exactly_what_is_exported() -> None:
    names = await exported()
    doc = (DOCS / "operations.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `(bot_[a-z0-9_]+)` \| (\w+) \|", doc, re.MULTILINE))
    assert table == names


async def test_alerts_and_the_dashboard_query_only_exported_metrics() -> None:
    names = await exported()
    doc = (DOCS / "operations.md").read_text(encoding="utf-8")
    alerts = doc.split("## Example alerts", 1)[1].split("## Grafana dashboard", 1)[0]
    assert len(METRIC.findall(alerts)) >= 8
    assert queried(alerts, names) == set()
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert queried("\n".join(exprs), names) == set()
    used = {m for e in exprs for m in METRIC.findall(e)}
    missing = {n for n in names if not any(u == n or u.startswith(n) for u in used)}
    assert missing == set(), "metrics the dashboard does not show"
