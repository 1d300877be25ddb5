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


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    display_name: str
    provider: str
    remote_name: str
    capabilities: ModelCapabilities
    input_price_per_million: Decimal = Decimal(0)
    output_price_per_million: Decimal = Decimal(0)
