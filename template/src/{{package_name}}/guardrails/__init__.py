"""Deterministic guardrails: cheap, explainable checks that run before and after the model."""

from .injection import detect_injection
from .pii import Redaction, redact_pii

__all__ = ["Redaction", "detect_injection", "redact_pii"]
