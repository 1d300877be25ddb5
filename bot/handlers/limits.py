"""/limits (what is left per model and when it frees up) and /subinfo (the user's plan)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.chat.settings import ChatSettingsService
from bot.i18n import Translator
from bot.payments.quotas import QuotaService, utcnow
from bot.payments.service import PaymentService
from bot.payments.texts import limit_lines, moment

router = Router(name=__name__)


@router.message(Command("limits"))
async def limits(
    message: Message, t: Translator, quotas: QuotaService, chat_settings: ChatSettingsService
) -> None:
    if not quotas.enabled or message.from_user is None:
        await message.answer(t("limits-off"))
        return
    specs = chat_settings.available_models()
    plan, statuses = await quotas.status(message.from_user.id, [spec.id for spec in specs])
    title = plan.title(t.locale) if plan else ""
    lines = [t("limits-header", plan=title)]
    names = {spec.id: spec.display_name for spec in specs}
    lines += limit_lines(statuses, lambda model_id: names[model_id], utcnow(), t)
    limited = {m for status in statuses for m in status.models}
    free = [spec.display_name for spec in specs if spec.id not in limited]
    if free:
        lines.append(t("limits-unlimited", models=", ".join(free)))
    audio = await quotas.audio_left(message.from_user.id)
    if audio is not None:
        left, limit, hours = audio
        lines.append(t("limits-audio", left=f"{left:.1f}", limit=f"{limit:g}", hours=f"{hours:g}"))
    await message.answer("\n\n".join(lines))


@router.message(Command("subinfo"))
async def subinfo(message: Message, t: Translator, payments: PaymentService) -> None:
    if message.from_user is None:
        return
    holding = await payments.holding(message.from_user.id)
    plan = holding.plan.title(t.locale) if holding.plan else t("plan-none")
    lines = [t("subinfo-current", plan=plan)]
    now = utcnow()
    for entitlement in holding.entitlements:
        held = payments.catalog.get(entitlement.plan_id)
        title = held.title(t.locale) if held else entitlement.plan_id
        until = moment(entitlement.expires_at)
        if entitlement.expires_at <= now:
            lines.append(t("subinfo-expired", plan=title, until=until))
            continue
        renewal = entitlement.renewal
        key = f"subinfo-renewal-{renewal}" if renewal in ("active", "canceled", "failed") else None
        line = t("subinfo-until", plan=title, until=until)
        lines.append(f"{line}\n{t(key)}" if key else line)
    if payments.catalog.paid:
        lines.append(t("subinfo-hint"))
    await message.answer("\n\n".join(lines))
