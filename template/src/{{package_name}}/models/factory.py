"""Build the pydantic-ai model named by the settings.

Provider SDKs are imported only when selected: importing both costs seconds of start-up that
the offline default (and every test) would pay for nothing.

OpenAI-compatible servers differ in details the SDK cannot guess. The output cap is the one
that matters most: OpenAI reads `max_completion_tokens` (and deprecates `max_tokens`), while
llama.cpp, and older vLLM and Ollama builds, read only `max_tokens` and silently ignore the
other, so an answer runs to the context limit. MODEL_OUTPUT_LIMIT_FIELD picks the field.
"""

from __future__ import annotations

from urllib.parse import urlparse

from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings

from ..settings import Settings

# Hosts that read `max_completion_tokens` (OpenAI itself, and Azure OpenAI's deployments).
OPENAI_HOSTS = ("api.openai.com", ".openai.azure.com", ".cognitiveservices.azure.com")


def _secret(settings: Settings) -> str | None:
    return settings.model_api_key.get_secret_value() if settings.model_api_key else None


def output_limit_field(settings: Settings) -> str:
    """The request field that carries MODEL_MAX_OUTPUT_TOKENS to an OpenAI-compatible server:
    `max_tokens`, `max_completion_tokens` or `both` (for a server that needs both)."""
    if settings.model_output_limit_field != "auto":
        return settings.model_output_limit_field
    host = urlparse(settings.model_base_url or "https://api.openai.com/v1").hostname or ""
    if host == OPENAI_HOSTS[0] or host.endswith(OPENAI_HOSTS[1:]):
        return "max_completion_tokens"
    return "max_tokens"


def request_settings(settings: Settings) -> ModelSettings:
    """Model settings every request of this provider carries besides the Generator's own."""
    if settings.model_provider == "openai" and output_limit_field(settings) == "both":
        # The SDK sends the cap as max_completion_tokens; the body carries it as max_tokens too.
        return ModelSettings(extra_body={"max_tokens": settings.model_max_output_tokens})
    return ModelSettings()


def build_model(settings: Settings, embedded: Model) -> Model:
    """A real provider (any OpenAI-compatible endpoint, or Anthropic), or `embedded` when the
    provider is `offline`: each slice brings its own embedded model, this module knows none."""
    if settings.model_provider == "offline":
        return embedded
    if settings.model_provider == "openai":
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.profiles.openai import OpenAIModelProfile
        from pydantic_ai.providers.openai import OpenAIProvider

        provider = OpenAIProvider(
            base_url=settings.model_base_url,
            # Self-hosted endpoints (vLLM, Ollama) often need no key, but the SDK wants one.
            api_key=_secret(settings) or "not-needed",
        )
        # Merged over the provider's own profile for the model (pydantic-ai's `profile=`).
        profile = OpenAIModelProfile(
            openai_chat_supports_max_completion_tokens=output_limit_field(settings) != "max_tokens"
        )
        return OpenAIChatModel(settings.model_name, provider=provider, profile=profile)

    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    return AnthropicModel(
        settings.model_name,
        provider=AnthropicProvider(api_key=_secret(settings), base_url=settings.model_base_url),
    )
