"""Observability: OpenTelemetry traces (standard OTEL_* variables) and Prometheus metrics."""

from .metrics import Metrics
from .tracing import configure_tracing, export_dotenv_otel_variables, flush_tracing, instrument_app

__all__ = [
    "Metrics",
    "configure_tracing",
    "export_dotenv_otel_variables",
    "flush_tracing",
    "instrument_app",
]
