"""The smoke test every deploy must pass: ready, and a real question answered with citations.

Deliberately small and dependency-free (stdlib HTTP): it runs in the deploy job, against staging
and production, and in the rollback drill. The eval gate (`python -m evals --url`) is the
thorough check; this one answers "is this release serving at all?" in well under a second.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from typing import Any

from .base import Endpoint, SmokeTestError
from .config import SMOKE_TIMEOUT_SECONDS, smoke_question


def _request(
    url: str, *, body: dict[str, Any] | None = None, api_key: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["X-API-Key"] = api_key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (http(s) only)
    try:
        with urllib.request.urlopen(request, timeout=SMOKE_TIMEOUT_SECONDS) as response:  # noqa: S310
            status, payload = response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            status, payload = error.code, json.loads(error.read() or b"{}")
        except (OSError, ValueError, http.client.HTTPException):
            status, payload = error.code, {}
    # Anything else (refused, reset, truncated, not JSON) must fail the smoke test, so that a
    # deploy rolls back instead of stopping with a traceback while the bad release serves.
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise SmokeTestError(f"{url}: no usable response ({error})") from error
    if not isinstance(payload, dict):
        raise SmokeTestError(f"{url}: answered {status} with JSON that is not an object")
    return status, payload


def smoke_test(endpoint: Endpoint) -> float:
    """Raise SmokeTestError unless the service is ready and answers with citations.

    Returns the seconds the check took.
    """
    if not endpoint.url.startswith(("http://", "https://")):
        raise SmokeTestError(f"not an http(s) URL: {endpoint.url!r}")
    started = time.monotonic()
    base = endpoint.url.rstrip("/")
    status, payload = _request(f"{base}/readyz")
    if status != 200:
        raise SmokeTestError(f"/readyz answered {status}: {payload.get('checks', payload)}")
    question = smoke_question()
    status, payload = _request(
        f"{base}/v1/ask", body={"question": question}, api_key=endpoint.api_key
    )
    if status != 200:
        reason = payload.get("code") or payload.get("detail") or "no reason given"
        raise SmokeTestError(f"/v1/ask answered {status} ({reason}) to {question!r}")
    if payload.get("outcome") != "answered" or not payload.get("citations"):
        raise SmokeTestError(
            f"/v1/ask did not answer {question!r} with citations "
            f"(outcome={payload.get('outcome')!r}); set SMOKE_QUESTION to one your corpus answers"
        )
    return time.monotonic() - started
