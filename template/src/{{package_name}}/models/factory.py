"""Build the pydantic-ai model named by the settings.

Provider SDKs are imported only when selected: importing both costs seconds of start-up that
the offline default (and every test) would pay for nothing.
"""

from __future__ import annotations

from pydantic_ai.models import Model

from ..settings import Settings


def _secret(settings: Settings) -> str | None:
    return settings.model_api_key.get_secret_value() if settings.model_api_key else None


def build_model(settings: Settings, embedded: Model) -> Model:
    """A real provider (any OpenAI-compatible endpoint, or Anthropic), or `embedded` when the
    provider is `offline`: each slice brings its own embedded model, this module knows none."""
    if settings.model_provider == "offline":
        return embedded
    if settings.model_provider == "openai":
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        provider = OpenAIProvider(
            base_url=settings.model_base_url,
            # Self-hosted endpoints (vLLM, Ollama) often need no key, but the SDK wants one.
            api_key=_secret(settings) or "not-needed",
        )
        return OpenAIChatModel(settings.model_name, provider=provider)

    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    return AnthropicModel(
        settings.model_name,
        provider=AnthropicProvider(api_key=_secret(settings), base_url=settings.model_base_url),
    )
