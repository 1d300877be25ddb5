"""The /stats report as text (the words come from locales/)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from bot.chat.ports import Translate
from bot.stats.service import ModelLine, Report
from bot.storage.dto import FeedbackCount


def report_text(report: Report, t: Translate) -> str:
    users = report.users
    sections = [
        t("stats-header", days=report.days, ms=round(report.seconds * 1000)),
        t(
            "stats-users",
            total=users.total,
            new1=users.new[0],
            new7=users.new[1],
            new30=users.new[2],
            active1=users.active[0],
            active7=users.active[1],
            active30=users.active[2],
        ),
        _models(report.models, t),
        _providers(report, t),
        t("stats-routes", routes=_shares(report.routes, t)),
        t("stats-errors", errors=_counts(report.errors, t)),
        t("stats-feedback-models", lines=_votes(report.feedback_models, t)),
        t("stats-feedback-characters", lines=_votes(report.feedback_characters, t)),
        t(
            "stats-pictures",
            received=report.pictures_received,
            generated=sum(m.pictures for m in report.models),
        ),
    ]
    return "\n\n".join(sections)


def _models(models: list[ModelLine], t: Translate) -> str:
    if not models:
        return f"{t('stats-models-header')} {t('stats-empty')}"
    lines = [t("stats-models-header")]
    for line in models:
        latency = (
            t("stats-latency", p50=_seconds(line.p50_ms), p95=_seconds(line.p95_ms))
            if line.p50_ms is not None and line.p95_ms is not None
            else t("stats-latency-none")
        )
        lines.append(
            t(
                "stats-model-line",
                model=line.name,
                provider=line.provider,
                answers=line.answers,
                tokens_in=line.input_tokens,
                tokens_out=line.output_tokens,
                cost=_money(line.cost),
                latency=latency,
            )
        )
    return "\n".join(lines)


def _providers(report: Report, t: Translate) -> str:
    if not report.providers:
        return f"{t('stats-providers-header')} {t('stats-empty')}"
    lines = [t("stats-providers-header")]
    for line in report.providers:
        lines.append(
            t(
                "stats-provider-line",
                provider=line.provider,
                answers=line.answers,
                tokens=line.tokens,
                cost=_money(line.cost),
            )
        )
    return "\n".join(lines)


def _shares(counts: dict[str, int], t: Translate) -> str:
    total = sum(counts.values())
    if not total:
        return t("stats-empty")
    ranked = sorted(counts.items(), key=_most_first)
    return ", ".join(f"{key} {round(100 * n / total)}%" for key, n in ranked)


def _counts(counts: dict[str, int], t: Translate) -> str:
    if not counts:
        return t("stats-none")
    return ", ".join(f"{key} {n}" for key, n in sorted(counts.items(), key=_most_first))


def _votes(votes: Iterable[FeedbackCount], t: Translate) -> str:
    parts = []
    for vote in sorted(votes, key=lambda v: (-(v.up + v.down), v.key or "")):
        total = vote.up + vote.down
        if not total:
            continue
        name = vote.key if vote.key is not None else t("stats-no-character")
        up, down = round(100 * vote.up / total), round(100 * vote.down / total)
        parts.append(f"{name} 👍{up}% 👎{down}% ({total})")
    return ", ".join(parts) if parts else t("stats-empty")


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    """Largest first; ties by name, so the text does not depend on the database's order."""
    return -item[1], item[0]


def _seconds(ms: int | None) -> str:
    return f"{(ms or 0) / 1000:.1f}"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"
