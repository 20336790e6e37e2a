"""Cost per request from a price table: committed custom prices first, then genai-prices.

genai-prices ships its price data in the package, so lookups work offline; its background
price updater is never started (air-gapped installs must not call out). Self-hosted and
embedded models have no public price: `data/prices.yaml` sets one explicitly (zero allowed,
but it must be written down), e.g. amortised GPU cost per million tokens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from genai_prices import Usage, calc_price
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .yaml_files import load_yaml

logger = logging.getLogger(__name__)
PER_MILLION = Decimal(1_000_000)


class CustomPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model: str
    input_usd_per_mtok: Decimal = Field(ge=0)
    output_usd_per_mtok: Decimal = Field(ge=0)
    note: str = Field(min_length=1, description="Where the price comes from")


@dataclass(frozen=True)
class Cost:
    usd: float | None  # None: no price known for this model
    source: str


class PriceTable:
    def __init__(self, custom: list[CustomPrice]) -> None:
        self._custom = {(price.provider, price.model): price for price in custom}
        self._warned: set[tuple[str, str]] = set()

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        raw = load_yaml(path.read_text(encoding="utf-8")) if path.is_file() else None
        return cls(TypeAdapter(list[CustomPrice]).validate_python(raw or []))

    def cost(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> Cost:
        custom = self._custom.get((provider, model))
        if custom is not None:
            usd = (
                custom.input_usd_per_mtok * input_tokens
                + custom.output_usd_per_mtok * output_tokens
            ) / PER_MILLION
            return Cost(float(usd), "custom")
        try:
            price = calc_price(
                Usage(input_tokens=input_tokens, output_tokens=output_tokens),
                model_ref=model,
                provider_id=provider,
            )
        except LookupError:
            if (provider, model) not in self._warned:
                self._warned.add((provider, model))
                logger.warning("no price for %s/%s: add it to data/prices.yaml", provider, model)
            return Cost(None, "unknown")
        return Cost(float(price.total_price), "genai-prices")
