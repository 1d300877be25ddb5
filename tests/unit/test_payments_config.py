"""The `[plans]`, `[quotas]` and `[payments]` tables: a bad file is refused naming the field and
the fix; a good one loads into plans the catalogue can use."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.config_errors import ConfigError
from bot.payments.catalog import Catalog

BASE = """
[chat]
default_model = "local"

[providers.vllm]
type = "openai_compatible"
base_url = "http://127.0.0.1:8000/v1"

[models.local]
provider = "vllm"
remote_name = "qwen"
display_name = "Qwen"

[models.big]
provider = "vllm"
remote_name = "llama-70b"
display_name = "Llama 70B"

[models.fast]
provider = "vllm"
remote_name = "llama-8b"
display_name = "Llama 8B"
"""

FREE = """
[plans.free]
kind = "free"
title = { en = "Free" }
"""

WEEK = """
[plans.week]
kind = "pass"
price_stars = 50
days = 7
title = { en = "Week" }
description = { en = "Seven days of more answers" }
"""

FULL = (
    BASE
    + """
[i18n]
default_locale = "en"

[quotas]
auto_fallback_model = "local"

[quotas.groups]
premium = ["big", "fast"]

[plans.free]
kind = "free"
title = { en = "Free", ru = "Бесплатный" }

[plans.free.limits.premium]
messages = 5
window_hours = 12

[plans.free.limits."*"]
messages = 20
tokens = 50000

[plans.free.actions.generate_image]
count = 1

[plans.week]
kind = "pass"
price_stars = 50
days = 7
title = { en = "Week", ru = "Неделя" }
description = { en = "Seven days of more answers" }

[plans.week.limits.premium]
messages = 100

[plans.week.actions.generate_image]
count = 20

[plans.month]
kind = "subscription"
price_stars = 250
title = { en = "Monthly" }
description = { en = "More answers, renewed every month" }

[payments]
invoice_ttl_minutes = 30
"""
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    message = str(info.value)
    assert str(tmp_path / "config.toml") in message  # every refusal names the file
    return message


def test_a_full_configuration_loads_plans_groups_and_actions(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, FULL), environ={})

    assert set(settings.plans) == {"free", "week", "month"}
    assert settings.plans["week"].period_days == 7
    assert settings.plans["month"].kind == "subscription"
    assert settings.plans["month"].period_days == 30  # days may be left out for subscriptions
    assert settings.plans["free"].limits["premium"].window_hours == 12
    assert settings.plans["free"].limits["*"].tokens == 50000
    assert settings.plans["free"].limits["*"].window_hours == 24  # the default window
    assert settings.plans["week"].actions["generate_image"].count == 20
    assert settings.quotas.groups == {"premium": ["big", "fast"]}
    assert settings.quotas.auto_fallback_model == "local"
    assert settings.payments.invoice_ttl_minutes == 30

    catalog = Catalog(settings.plans, settings.quotas, settings.i18n.default_locale)
    assert [p.id for p in catalog.paid] == ["week", "month"]
    free = catalog.free
    assert free is not None
    applied = catalog.limit_for(free, "fast")
    assert applied is not None
    assert applied.bucket == "group:premium"
    assert applied.limit.messages == 5
    assert applied.models == ("big", "fast")


def test_without_plans_nothing_is_limited_or_sold(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, BASE), environ={})

    assert settings.plans == {}
    assert not Catalog(settings.plans, settings.quotas, "en").enabled
    assert settings.payments.invoice_ttl_minutes == 60


def test_a_free_plan_with_a_price_is_refused(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, BASE + FREE.replace('kind = "free"', 'kind = "free"\nprice_stars = 5')
    )

    assert "plans.free: the free plan has no price_stars and no days" in message


def test_a_free_plan_with_days_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + FREE.replace('kind = "free"', 'kind = "free"\ndays = 7'))

    assert "plans.free: the free plan has no price_stars and no days" in message


def test_a_paid_plan_without_a_price_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + FREE + WEEK.replace("price_stars = 50\n", ""))

    assert "plans.week: a pass plan needs price_stars of 1 to 10000" in message


def test_a_pass_without_days_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + FREE + WEEK.replace("days = 7\n", ""))

    assert "plans.week: a pass needs days (how long it lasts, for example 7)" in message


@pytest.mark.parametrize("days", [7, 31, 365])
def test_a_subscription_of_other_than_30_days_is_refused(tmp_path: Path, days: int) -> None:
    month = WEEK.replace("week", "month").replace('"pass"', '"subscription"')
    message = error_for(tmp_path, BASE + FREE + month.replace("days = 7", f"days = {days}"))

    assert "plans.month: Telegram subscriptions last 30 days; remove days or set 30" in message


def test_a_subscription_of_30_days_is_accepted(tmp_path: Path) -> None:
    month = WEEK.replace("week", "month").replace('"pass"', '"subscription"')
    settings = load_settings(
        write(tmp_path, BASE + FREE + month.replace("days = 7", "days = 30")), environ={}
    )

    assert settings.plans["month"].period_days == 30


def test_a_price_above_10000_stars_is_refused(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, BASE + FREE + WEEK.replace("price_stars = 50", "price_stars = 10001")
    )

    assert "plans.week.price_stars: Input should be less than or equal to 10000" in message
    assert "lower the value" in message


def test_a_price_of_10000_stars_is_accepted(tmp_path: Path) -> None:
    text = BASE + FREE + WEEK.replace("price_stars = 50", "price_stars = 10000")

    assert load_settings(write(tmp_path, text), environ={}).plans["week"].price_stars == 10000


def test_two_free_plans_are_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + FREE + FREE.replace("plans.free", "plans.gratis"))

    assert 'plans: exactly one plan must have kind = "free"' in message
    assert "found 2" in message


def test_paid_plans_without_a_free_plan_are_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + WEEK)

    assert 'plans: exactly one plan must have kind = "free"' in message
    assert "found 0" in message


def test_a_limit_on_an_unknown_model_or_group_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + FREE + "[plans.free.limits.gpt5]\nmessages = 3\n")

    assert 'plans.free.limits.gpt5: not a model, a group of [quotas.groups] or "*"' in message
    assert "fix the name" in message


def test_limits_on_a_model_a_group_and_star_are_accepted(tmp_path: Path) -> None:
    text = (
        BASE
        + '[quotas.groups]\npremium = ["big"]\n'
        + FREE
        + "[plans.free.limits.local]\nmessages = 1\n"
        + "[plans.free.limits.premium]\nmessages = 2\n"
        + '[plans.free.limits."*"]\nmessages = 3\n'
    )

    limits = load_settings(write(tmp_path, text), environ={}).plans["free"].limits
    assert {key: limit.messages for key, limit in limits.items()} == {
        "local": 1,
        "premium": 2,
        "*": 3,
    }


def test_a_limit_without_messages_or_tokens_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + FREE + "[plans.free.limits.local]\nwindow_hours = 2\n")

    assert "plans.free.limits.local: a limit needs messages, tokens or both" in message


def test_a_group_naming_an_unknown_model_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + '[quotas.groups]\npremium = ["big", "gpt5"]\n' + FREE)

    assert "quotas.groups.premium names 'gpt5', which is not a model under [models]" in message
    assert "(defined: big, fast, local); fix the name" in message


def test_a_model_in_two_groups_is_refused(tmp_path: Path) -> None:
    groups = '[quotas.groups]\npremium = ["big", "fast"]\ncheap = ["fast", "local"]\n'
    message = error_for(tmp_path, BASE + groups + FREE)

    assert "quotas.groups: 'fast' is in more than one group; keep it in one" in message
    assert "'big'" not in message  # only the model that is in two groups


def test_a_group_named_like_a_model_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + '[quotas.groups]\nbig = ["fast"]\n' + FREE)

    assert "quotas.groups.big: a group cannot have a model's id; rename it" in message


def test_an_unknown_auto_fallback_model_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, BASE + '[quotas]\nauto_fallback_model = "gpt5"\n' + FREE)

    assert "quotas.auto_fallback_model is 'gpt5', which is not a model under [models]" in message
    assert "pick one of those or remove the setting" in message


def test_a_title_without_the_default_locale_is_refused(tmp_path: Path) -> None:
    text = BASE + '[i18n]\ndefault_locale = "ru"\n' + FREE.replace("title = { en", "title = { ru")
    text += WEEK.replace('description = { en = "Seven', 'description = { ru = "Seven')

    message = error_for(tmp_path, text)

    assert "plans.week.title has no 'ru' text (the default locale); add title.ru" in message
    assert "plans.free.title" not in message


def test_a_paid_plan_without_a_description_in_the_default_locale_is_refused(
    tmp_path: Path,
) -> None:
    message = error_for(
        tmp_path, BASE + FREE + WEEK.replace("description = { en", "description = { ru")
    )

    assert "plans.week.description has no 'en' text" in message
    assert "add description.en" in message


def test_every_plan_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        BASE
        + '[quotas]\nauto_fallback_model = "gpt5"\n'
        + FREE
        + "[plans.free.limits.nope]\nmessages = 1\n"
    )

    message = error_for(tmp_path, text)

    assert "quotas.auto_fallback_model is 'gpt5'" in message
    assert "plans.free.limits.nope" in message


@pytest.mark.parametrize("plan_id", ["Week", "a" * 25, "-week", "we.ek"])
def test_a_plan_id_that_is_not_a_short_slug_is_refused(tmp_path: Path, plan_id: str) -> None:
    message = error_for(tmp_path, BASE + FREE + WEEK.replace("plans.week", f'plans."{plan_id}"'))

    assert "String should match pattern" in message


@pytest.mark.parametrize("plan_id", ["a" * 30, "we.ek"])
def test_a_bad_plan_id_is_told_the_plan_id_rule(tmp_path: Path, plan_id: str) -> None:
    message = error_for(tmp_path, BASE + FREE + WEEK.replace("plans.week", f'plans."{plan_id}"'))

    fix = message.split(";")[-1]  # the advice after the pydantic message
    assert "at most 40 characters" not in fix
    assert "24" in fix


def test_payments_secret_in_the_file_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, 'payments_secret = "s3cret"\n' + FULL)

    assert "payments_secret: secrets do not belong in the configuration file" in message
    assert "set PAYMENTS_SECRET in the environment or in .env" in message
    assert "s3cret" not in message


def test_payments_secret_comes_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, FULL), environ={"PAYMENTS_SECRET": "s3cret"})

    assert settings.payments_secret is not None
    assert settings.payments_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_the_invoice_lifetime_is_bounded(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, FULL.replace("invoice_ttl_minutes = 30", "invoice_ttl_minutes = 0")
    )

    assert "payments.invoice_ttl_minutes: Input should be greater than or equal to 1" in message
    week = 7 * 24 * 60
    message = error_for(
        tmp_path, FULL.replace("invoice_ttl_minutes = 30", f"invoice_ttl_minutes = {week + 1}")
    )
    assert f"payments.invoice_ttl_minutes: Input should be less than or equal to {week}" in message
