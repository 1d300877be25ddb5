"""The voice service from the configuration: the transcription model, if one is configured."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import openai

from bot.chat.limits import LimitNotice
from bot.config import Settings, provider_api_key
from bot.payments.quotas import QuotaService
from bot.voice.service import VoiceService
from bot.voice.transcriber import OpenAITranscriber

logger = logging.getLogger(__name__)


def build_voice(
    settings: Settings, env: Mapping[str, str], quotas: QuotaService, notice: LimitNotice
) -> VoiceService:
    model_id = settings.transcription_model_id
    if model_id is None:
        logger.info("voice: no model with transcribe = true; recordings get a polite refusal")
        return VoiceService(None, settings.voice, quotas, notice)
    model = settings.models[model_id]
    provider = settings.providers[model.provider]
    client = openai.AsyncOpenAI(
        base_url=provider.base_url,
        api_key=provider_api_key(provider, env) or "no-key",
        max_retries=settings.llm.max_retries,
    )
    transcriber = OpenAITranscriber(
        client,
        model.remote_name,
        timeout=settings.voice.timeout_seconds,
        response_format=settings.voice.response_format,
    )
    logger.info("voice: transcribed by %s (%s)", model_id, model.remote_name)
    return VoiceService(transcriber, settings.voice, quotas, notice)
