"""Model-call spans following the OpenTelemetry GenAI semantic conventions (Development status).

Span name `{gen_ai.operation.name} {gen_ai.request.model}`, kind CLIENT, with provider, request
and response model, token usage and finish reasons. Prompt and answer text are recorded only
when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is true, and then only after PII
redaction. The spec has no cost attribute; `app.cost_usd` is ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

tracer = trace.get_tracer(__name__)

# gen_ai.provider.name for each MODEL_PROVIDER ("offline" is this service's embedded model).
PROVIDER_NAMES = {"offline": "thinslice", "openai": "openai", "anthropic": "anthropic"}


@contextmanager
def model_call_span(provider: str, model: str) -> Iterator[Span]:
    with tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", PROVIDER_NAMES.get(provider, provider))
        span.set_attribute("gen_ai.request.model", model)
        yield span


def record_response(
    span: Span,
    *,
    response_model: str,
    input_tokens: int,
    output_tokens: int,
    finish_reason: str | None,
    cost_usd: float | None,
) -> None:
    span.set_attribute("gen_ai.response.model", response_model)
    span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
    span.set_attribute("gen_ai.response.finish_reasons", [finish_reason or "stop"])
    if cost_usd is not None:
        span.set_attribute("app.cost_usd", cost_usd)


def record_content(span: Span, *, prompt: str, answer: str) -> None:
    """Opt-in content capture (already PII-redacted by the pipeline)."""
    span.set_attribute("gen_ai.input.messages", prompt)
    span.set_attribute("gen_ai.output.messages", answer)
