"""What the sandbox adds so that every feature shows on the chat page without a word of config.

* The page's default user (id 1001) is an operator, unless the file names its own ``admins``:
  operator commands (/route, /grant, /revenue, /refund, /stats, /broadcast, /moderation,
  /character_edit) work at once. The page's "operator" switch writes as user 1002, an ordinary
  user, instead.
* The default model is Auto (when routing is on): each message goes to the model its route
  prefers, a photo to one that can see.
* Plans, unless the file has its own ``[plans.*]``: the free plan allows a few answers a day per
  model, a week pass (sold for Stars and, through a sandbox payment provider, for roubles with
  an e-mail for the receipt) and a monthly subscription lift that; the page pays both kinds.
* The content filter, unless the file turns it on itself: on in the page's group
  (``PAGE_GROUP_ID``) with the shipped example topics (gambling, drugs), so that asking there
  about a casino shows the hidden placeholder and then the refusal.
"""

from __future__ import annotations

from typing import Any

OPERATOR_ID = 1001
ORDINARY_ID = 1002
PAGE_GROUP_ID = -1001000000001  # the chat page's group (its "Group id" field's default)
# Any non-empty token is taken by the fake Telegram; this one looks like a provider's test token.
SANDBOX_PROVIDER_TOKEN = "381764678:TEST:sandbox"

SANDBOX_MONEY: dict[str, Any] = {"provider": "yookassa", "currency": "RUB", "receipt": "email"}

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
        "price_money": "199.00",
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
    """Operator, plans, the content filter and Auto for the sandbox, where the file does not
    set them itself."""
    overrides: dict[str, Any] = {}
    if not config.get("admins"):
        overrides["admins"] = [OPERATOR_ID]
    if not config.get("plans"):
        overrides["plans"] = SANDBOX_PLANS
        if not config.get("payments", {}).get("money"):
            overrides["payments"] = {"money": SANDBOX_MONEY}
    if config.get("routing", {}).get("enabled", True):
        overrides["chat"] = {"default_model": "auto"}
    if not config.get("moderation", {}).get("enabled", False):
        overrides["moderation"] = {"enabled": True, "groups": "chosen", "chats": [PAGE_GROUP_ID]}
    return overrides
