"""Configured models by id, each bound to a shared provider client."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from bot.config import ProviderConfig, Settings, provider_api_key
from bot.llm.base import ChatModel, ProviderClient
from bot.llm.resilient import ResilientModel
from bot.llm.spec import InputLimits, ModelCapabilities, ModelSpec


class UnknownModelError(KeyError):
    pass


class ModelRegistry:
    def __init__(self, models: Mapping[str, ChatModel], providers: list[ProviderClient]) -> None:
        self._models = dict(models)
        self._providers = providers

    def get(self, model_id: str) -> ChatModel:
        try:
            return self._models[model_id]
        except KeyError:
            raise UnknownModelError(model_id) from None

    def resolve(self, model_id: str | None, default: str) -> ChatModel:
        """`model_id`, or `default` when it is unset or no longer configured."""
        if model_id is not None and model_id in self._models:
            return self._models[model_id]
        return self.get(default)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._models

    def __iter__(self) -> Iterator[ChatModel]:
        return iter(self._models.values())

    def wrapped(self, wrap: Callable[[ChatModel], ChatModel]) -> ModelRegistry:
        """The same models, each behind `wrap` (metrics), sharing the same providers."""
        return ModelRegistry({i: wrap(m) for i, m in self._models.items()}, self._providers)

    def specs(self) -> list[ModelSpec]:
        return [model.spec for model in self._models.values()]

    async def close(self) -> None:
        for provider in self._providers:
            await provider.close()


def build_registry(settings: Settings, env: Mapping[str, str]) -> ModelRegistry:
    providers: dict[str, ProviderClient] = {
        name: _provider(cfg, settings, env) for name, cfg in settings.providers.items()
    }
    models: dict[str, ChatModel] = {}
    for model_id, cfg in settings.models.items():
        if cfg.capabilities.transcribe:  # not a chat model: see bot.voice
            continue
        spec = ModelSpec(
            id=model_id,
            display_name=cfg.display_name,
            provider=cfg.provider,
            remote_name=cfg.remote_name,
            capabilities=ModelCapabilities(**cfg.capabilities.model_dump()),
            input_price_per_million=cfg.prices.input_per_million,
            output_price_per_million=cfg.prices.output_per_million,
            limits=input_limits(settings.providers[cfg.provider]),
        )
        models[model_id] = ResilientModel(
            spec,
            providers[cfg.provider],
            max_retries=settings.llm.max_retries,
            backoff=settings.llm.retry_backoff_seconds,
        )
    return ModelRegistry(models, list(providers.values()))


def _provider(cfg: ProviderConfig, settings: Settings, env: Mapping[str, str]) -> ProviderClient:
    connect = cfg.connect_timeout or settings.llm.connect_timeout
    read = cfg.read_timeout or settings.llm.read_timeout
    key = provider_api_key(cfg, env)
    # Each SDK is imported only when a provider uses it (the anthropic SDK alone takes seconds).
    if cfg.type == "anthropic":
        from bot.llm.providers.anthropic import AnthropicClient

        return AnthropicClient(
            base_url=cfg.base_url, api_key=key, connect_timeout=connect, read_timeout=read
        )
    from bot.llm.providers.openai_compat import OpenAICompatibleClient

    return OpenAICompatibleClient(
        base_url=cfg.base_url,
        api_key=key,
        connect_timeout=connect,
        read_timeout=read,
        max_tokens_param=cfg.max_tokens_param,
    )


def input_limits(provider: ProviderConfig) -> InputLimits:
    return InputLimits(
        image_max_side=provider.image_side_limit,
        pdf_max_pages=provider.pdf_max_pages,
        pdf_max_bytes=int(provider.pdf_max_mb * 1024 * 1024),
    )
