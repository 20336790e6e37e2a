"""The request id: given to every HTTP request before anything else runs, returned in the
`X-Request-ID` header of every response (errors included) and in every error body.

The id is always the service's own (32 hex characters, random): a client's `X-Request-ID` is
not adopted, because the id keys the ledger row and the feedback vote, so it must be unique and
unguessable. The same id becomes the ledger's request id for /v1/ask.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"

# Header bytes the app accepts (names and values, all headers). The HTTP server's own limit
# (server.py) sits above it, so an oversized header reaches this middleware and is answered
# 431 in the service's error shape; only beyond the server's limit does uvicorn answer alone.
MAX_HEADER_BYTES = 16_384


def request_id_of(request: Request | Scope) -> str | None:
    """The id RequestContextMiddleware gave this request (None outside the middleware), from
    the request or, in an ASGI middleware, its scope."""
    scope = request.scope if isinstance(request, Request) else request
    request_id = scope.get("state", {}).get("request_id")
    return str(request_id) if request_id is not None else None


def error_body(code: str, detail: str, request_id: str | None) -> dict[str, str | None]:
    """The one error shape: `{code, detail, request_id}` (api/schemas.py ErrorResponse)."""
    return {"code": code, "detail": detail, "request_id": request_id}


class RequestContextMiddleware:
    """Outermost of the app's middleware: an id for every request, the X-Request-ID header on
    every response, and 431 for oversized headers."""

    def __init__(self, app: ASGIApp, max_header_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers.append(REQUEST_ID_HEADER, request_id)
            await send(message)

        header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            response = JSONResponse(
                error_body(
                    "headers_too_large",
                    f"request headers exceed {self.max_header_bytes} bytes",
                    request_id,
                ),
                status_code=431,
            )
            await response(scope, receive, send_with_id)
            return
        await self.app(scope, receive, send_with_id)
