"""API-key authentication for /v1/*: `X-API-Key: <key>` or `Authorization: Bearer <key>`."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .deps import SettingsDep
from .errors import ApiError

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


def caller_id(key: str) -> str:
    """A short, stable, non-reversible label for the key, for the ledger and logs."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def require_api_key(
    settings: SettingsDep,
    header_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str:
    """Return the caller id; 401 unless the key matches one configured in API_KEYS."""
    presented = header_key or (bearer.credentials if bearer else None)
    if not presented:
        raise ApiError("missing_api_key", "send an API key in the X-API-Key header")
    valid = False
    # Compare against every key, without short-circuiting, in constant time per key.
    for key in settings.api_key_values:
        valid |= hmac.compare_digest(presented.encode(), key.encode())
    if not valid:
        raise ApiError("invalid_api_key", "the API key is not valid")
    return caller_id(presented)


Caller = Annotated[str, Depends(require_api_key)]
