"""One log line per failed model-call attempt, so a provider's 400 body or a timeout is visible
without exported traces: request id, provider, model, error class, HTTP status and the
provider's own message, truncated and PII-redacted (a reply may quote the question back)."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar

from pydantic import ValidationError
from pydantic_ai.exceptions import ModelHTTPError

from ..guardrails import redact_pii
from .errors import ProviderError

logger = logging.getLogger(__name__)

# The id of the request whose model call runs in this task (set by lifecycle.call_model).
REQUEST_ID: ContextVar[str | None] = ContextVar("model_call_request_id", default=None)
MAX_MESSAGE_CHARS = 300


def provider_message(error: BaseException) -> str:
    """What the provider said, as one short line: the HTTP body when there is one."""
    if isinstance(error, ModelHTTPError) and error.body is not None:
        body = error.body if isinstance(error.body, str) else json.dumps(error.body)
    else:
        body = str(error) or type(error).__name__
        cause = error.__cause__
        if isinstance(cause, ValidationError):
            # What did not fit, never the reply's text (pydantic quotes the input it rejects).
            problems = cause.errors(include_url=False, include_input=False)
            body += ": " + "; ".join(f"{p['type']} at {p['loc']}: {p['msg']}" for p in problems)
        elif cause is not None:
            body += f": {type(cause).__name__}"
    flat = " ".join(body.split())
    if len(flat) > MAX_MESSAGE_CHARS:
        flat = flat[: MAX_MESSAGE_CHARS - 1] + "…"
    return redact_pii(flat).text


def status_of(error: BaseException) -> int | None:
    return error.status_code if isinstance(error, ModelHTTPError) else None


def log_failure(
    error: BaseException, failure: ProviderError, *, provider: str, model: str, attempt: int
) -> None:
    status = status_of(error)
    logger.warning(
        "model call failed: request_id=%s provider=%s model=%s attempt=%d error=%s code=%s "
        "status=%s retryable=%s message=%r",
        REQUEST_ID.get() or "-",
        provider,
        model,
        attempt,
        type(error).__name__,
        failure.code,
        status if status is not None else "-",
        failure.retryable,
        provider_message(error),
    )
