"""Map provider failures to one error type with a stable code (api/errors.py gives each its
HTTP status: 502 for a bad reply, 503 to retry later, 504 too slow)."""

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

# Reply shapes the client library does not check: `"choices": []` is an IndexError inside it,
# a null choice an AttributeError. Raised by the model call, they mean a bad reply, not a bug.
MALFORMED_REPLY_ERRORS = (LookupError, AttributeError, TypeError, ValueError)


@dataclass
class ProviderError(Exception):
    """A model call failed; `code` is stable (and decides the HTTP status, api/errors.py).

    `retryable` says whether another attempt within the request's deadline may succeed.
    """

    code: str
    message: str
    retry_after: float | None = None
    retryable: bool = False
    # Tokens the provider reported for the call's failed attempts (counted and recorded).
    input_tokens: int = 0
    output_tokens: int = 0
    # The reply called the output tool, but its arguments did not fit (cut short, not JSON).
    unusable_reply: bool = False

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def bad_response(
    message: str = "the model provider returned an empty, truncated or malformed reply",
) -> ProviderError:
    return ProviderError("provider_bad_response", message)


def deadline_exceeded(
    deadline_seconds: float, attempts: int, timeout_seconds: float
) -> ProviderError:
    """The 504 of a request whose model call ran out of time: it states the total deadline."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return ProviderError(
        "provider_timeout",
        f"the model provider did not answer within the {deadline_seconds:g}s deadline "
        f"(MODEL_DEADLINE_SECONDS; {tries}, each at most {timeout_seconds:g}s)",
    )


def classify(error: BaseException, timeout_seconds: float) -> ProviderError:
    """Translate a model-call error into a ProviderError. Order matters: most specific first.

    Retry policy (the Generator retries only `retryable` errors, within the deadline):
    timeouts of one attempt, 5xx, 429 and connection failures are retryable; credentials,
    other 4xx and malformed replies are not (another attempt gets the same answer).
    """
    if isinstance(error, ModelTimeoutError | ModelRequestTimeout):
        return ProviderError(
            "provider_timeout",
            f"the model provider did not answer one attempt within {timeout_seconds:g}s",
            retryable=True,
        )
    if isinstance(error, ModelRateLimitError | ModelQuotaExceededError):
        return ProviderError(
            "provider_rate_limited",
            "the model provider is rate limiting this service; retry later",
            retry_after=error.retry_after,
            retryable=isinstance(error, ModelRateLimitError),
        )
    if isinstance(error, ModelUnavailableError):
        return ProviderError(
            "provider_unavailable",
            "the model provider is temporarily unavailable",
            retryable=True,
        )
    if isinstance(error, ModelConnectionError):
        return ProviderError(
            "provider_unreachable", "cannot connect to the model provider", retryable=True
        )
    if isinstance(error, ModelAuthenticationError):
        return ProviderError(
            "provider_auth_failed", "the model provider rejected this service's credentials"
        )
    if isinstance(error, ModelHTTPError):
        return ProviderError(
            "provider_error",
            f"the model provider failed with HTTP {error.status_code}",
            retryable=error.status_code >= 500,
        )
    if isinstance(error, ModelAPIError) and isinstance(error.__cause__, ValueError):
        # A reply arrived but could not be decoded (e.g. not JSON): malformed, not an error.
        return bad_response()
    if isinstance(error, ModelAPIError):
        return ProviderError("provider_error", "the model provider returned an error")
    if isinstance(error, (UnexpectedModelBehavior, *MALFORMED_REPLY_ERRORS)):
        return bad_response()
    raise error
