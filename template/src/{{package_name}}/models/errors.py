"""Map provider failures to one error type the API turns into a clear 502/503/504."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelHTTPError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestTimeout,
    ModelTimeoutError,
    ModelUnavailableError,
    UnexpectedModelBehavior,
)


@dataclass
class ProviderError(Exception):
    """A model call failed; `status` is the HTTP status the caller gets, `code` is stable."""

    status: int
    code: str
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def classify(error: Exception, timeout_seconds: float) -> ProviderError:
    """Translate a pydantic-ai error into a ProviderError. Order matters: most specific first."""
    if isinstance(error, ModelTimeoutError | ModelRequestTimeout):
        return ProviderError(
            504,
            "provider_timeout",
            f"the model provider did not answer within {timeout_seconds:g}s",
        )
    if isinstance(error, ModelRateLimitError | ModelQuotaExceededError):
        return ProviderError(
            503,
            "provider_rate_limited",
            "the model provider is rate limiting this service; retry later",
            retry_after=error.retry_after,
        )
    if isinstance(error, ModelUnavailableError):
        return ProviderError(
            503, "provider_unavailable", "the model provider is temporarily unavailable"
        )
    if isinstance(error, ModelConnectionError):
        return ProviderError(503, "provider_unreachable", "cannot connect to the model provider")
    if isinstance(error, ModelAuthenticationError):
        return ProviderError(
            502, "provider_auth_failed", "the model provider rejected this service's credentials"
        )
    if isinstance(error, ModelHTTPError):
        return ProviderError(
            502, "provider_error", f"the model provider failed with HTTP {error.status_code}"
        )
    if isinstance(error, ModelAPIError) and isinstance(error.__cause__, ValueError):
        # A reply arrived but could not be decoded (e.g. not JSON): malformed, not an error.
        return ProviderError(
            502, "provider_bad_response", "the model provider returned a malformed reply"
        )
    if isinstance(error, ModelAPIError):
        return ProviderError(502, "provider_error", "the model provider returned an error")
    if isinstance(error, UnexpectedModelBehavior):
        return ProviderError(
            502, "provider_bad_response", "the model provider returned a malformed reply"
        )
    raise error
