"""What the sandbox adds so that every feature shows on the chat page without a word of config.

* The page's default user (id 1001) is an operator, unless the file names its own ``admins``:
  operator commands (/route, /grant, /revenue, /refund, /character_edit) work at once. The
  page's "operator" switch writes as user 1002, an ordinary user, instead.
* The default model is Auto (when routing is on): each message goes to the model its route
  prefers, a photo to one that can see.
* Plans with Telegram Stars payments, unless the file has its own ``[plans.*]``: the free plan
  allows a few answers a day per model, a week pass and a monthly subscription lift that, and
  the page pays invoices with sandbox Stars.
"""

from __future__ import annotations

from typing import Any

OPERATOR_ID = 1001
ORDINARY_ID = 1002

SANDBOX_PLANS: dict[str, Any] = {
    "free": {
        "kind": "free",
        "title": {"en": "Free (sandbox)", "ru": "Бесплатный (песочница)"},
        "limits": {"*": {"messages": 30}},
        "actions": {"generate_image": {"count": 3}},
    },
    "week": {
        "kind": "pass",
        "price_stars": 50,
        "days": 7,
        "title": {"en": "Week pass", "ru": "Неделя"},
        "description": {
            "en": "Sandbox plan: seven days of 300 answers a day from every model.",
            "ru": "План песочницы: семь дней по 300 ответов в день от каждой модели.",
        },
        "limits": {"*": {"messages": 300}},
        "actions": {"generate_image": {"count": 30}},
    },
    "pro": {
        "kind": "subscription",
        "price_stars": 250,
        "title": {"en": "Pro", "ru": "Про"},
        "description": {
            "en": "Sandbox plan: a month without limits, renewed every 30 days.",
            "ru": "План песочницы: месяц без ограничений, продлевается каждые 30 дней.",
        },
    },
}


def showcase_overrides(config: dict[str, Any]) -> dict[str, Any]:
    """Operator and plans for the sandbox, where the file does not set them itself."""
    overrides: dict[str, Any] = {}
    if not config.get("admins"):
        overrides["admins"] = [OPERATOR_ID]
    if not config.get("plans"):
        overrides["plans"] = SANDBOX_PLANS
    if config.get("routing", {}).get("enabled", True):
        overrides["chat"] = {"default_model": "auto"}
    return overrides
