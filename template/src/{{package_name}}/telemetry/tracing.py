"""OpenTelemetry set-up, configured by the standard variables.

OTEL_TRACES_EXPORTER picks the exporter: `otlp` (OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, e.g.
a collector), `console`, or `none` (the local default). Spans get real trace ids either way:
they are returned to callers and stored in the ledger. OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES are honoured by the SDK.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

# Probes and scrapes would drown real traffic in traces.
EXCLUDED_URLS = "healthz,readyz,metrics"


def span_exporter(name: str) -> SpanExporter | None:
    """The exporter named by OTEL_TRACES_EXPORTER; a typo stops start-up instead of hiding."""
    name = name.strip().lower()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_* variables
    if name == "console":
        return ConsoleSpanExporter()
    if name in {"none", ""}:
        return None
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: use otlp, console or none")


def configure_tracing(service_name: str) -> None:
    """Install a tracer provider once per process; later calls keep the first one."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    exporter = span_exporter(os.environ.get("OTEL_TRACES_EXPORTER", "none"))
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def flush_tracing(timeout_millis: int = 5_000) -> None:
    """Export the spans still buffered (called on shutdown)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis)


def export_dotenv_otel_variables(env_file: Path = Path(".env")) -> None:
    """Make OTEL_* lines of `.env` visible to the OpenTelemetry SDK, which reads only the
    process environment. A variable already set in the environment wins, as for every setting."""
    if not env_file.is_file():
        return
    for name, value in dotenv_values(env_file).items():
        if name.startswith("OTEL_") and value is not None:
            os.environ.setdefault(name, value)


def instrument_app(app: FastAPI) -> None:
    """A server span per request, parent of the pipeline's spans."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS)
