"""What a configured model is and can do: data, never inferred from its name."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    vision: bool
    tools: bool
    system_prompt: bool
    pdf_native: bool
    context_tokens: int
    max_output_tokens: int
    transcribe: bool = False  # a speech-to-text model, never a chat model


@dataclass(frozen=True, slots=True)
class InputLimits:
    """What the model's provider accepts as attachments (configured per provider)."""

    image_max_side: int = 2048
    pdf_max_pages: int = 100
    pdf_max_bytes: int = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    display_name: str
    provider: str
    remote_name: str
    capabilities: ModelCapabilities
    input_price_per_million: Decimal = Decimal(0)
    output_price_per_million: Decimal = Decimal(0)
    limits: InputLimits = InputLimits()
