"""Providers without their key: leave their models out, so any one provider is enough to start.

The example configuration names OpenAI, Anthropic and self-hosted models; an operator who has
one key (or none, with a vLLM server) can start it as it is. A model is left out only when
nothing names it where it cannot be missing (the default model, the judge, a fallback, the
image tool's provider): then the missing key is an error, as before.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LeftOut:
    provider: str
    variable: str
    models: tuple[str, ...]

    def describe(self) -> str:
        return f"{', '.join(self.models) or '(no models)'} ({self.variable} is not set)"


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def _required_models(data: Mapping[str, Any]) -> set[str]:
    chat, routing, quotas = _table(data, "chat"), _table(data, "routing"), _table(data, "quotas")
    names = [
        chat.get("default_model"),
        routing.get("judge_model"),
        routing.get("auto_fallback_model"),
        quotas.get("auto_fallback_model"),
    ]
    return {n for n in names if isinstance(n, str)}


def _image_provider(data: Mapping[str, Any]) -> object:
    return _table(_table(data, "tools"), "generate_image").get("provider")


def keyless_providers(data: Mapping[str, Any], env: Mapping[str, str]) -> list[LeftOut]:
    """Providers whose key variable is unset and whose models nothing requires."""
    models = _table(data, "models")
    required = _required_models(data)
    left_out = []
    for name, raw in _table(data, "providers").items():
        provider = dict(raw) if isinstance(raw, Mapping) else {}
        variable = provider.get("api_key_env")
        if not isinstance(variable, str) or env.get(variable):
            continue
        own = tuple(
            m for m, cfg in models.items() if _table({"m": cfg}, "m").get("provider") == name
        )
        if required & set(own) or _image_provider(data) == name:
            continue  # reported as a missing key
        left_out.append(LeftOut(name, variable, own))
    return left_out


def without(data: Mapping[str, Any], left_out: list[LeftOut]) -> dict[str, Any]:
    """The configuration without those providers, their models and mentions of the models."""
    pruned = copy.deepcopy(dict(data))
    gone_models = {m for entry in left_out for m in entry.models}
    gone_providers = {entry.provider for entry in left_out}
    for provider in gone_providers:
        pruned.get("providers", {}).pop(provider, None)
    for model in gone_models:
        pruned.get("models", {}).pop(model, None)
    preferred = _table(_table(pruned, "routing"), "preferred_models")
    if preferred:
        pruned["routing"]["preferred_models"] = {
            route: [m for m in ids if m not in gone_models] for route, ids in preferred.items()
        }
    groups = _table(_table(pruned, "quotas"), "groups")
    for group, members in groups.items():
        pruned["quotas"]["groups"][group] = [m for m in members if m not in gone_models]
    for plan in _table(pruned, "plans").values():
        if isinstance(plan, dict) and isinstance(plan.get("limits"), dict):
            for model in gone_models & set(plan["limits"]):
                del plan["limits"][model]
    return pruned
