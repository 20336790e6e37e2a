"""One error shape for every failure: `{code, detail, request_id}`, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import REQUEST_ID_HEADER, error_body, request_id_of
from .schemas import NOT_BLANK

logger = logging.getLogger(__name__)


# Every error code the service answers with, and its HTTP status: the one place where domain
# errors (which carry only a stable code) meet HTTP. Clients branch on the code; the status says
# who can fix it (4xx the caller, 502 the provider's reply, 503 retry later, 504 too slow).
STATUS_BY_CODE: dict[str, int] = {
    # The caller's request
    "malformed_body": 400,
    "missing_api_key": 401,
    "invalid_api_key": 401,
    "metrics_unauthorized": 401,
    "not_found": 404,
    "unknown_request": 404,
    "method_not_allowed": 405,
    "feedback_exists": 409,
    "request_too_large": 413,
    "invalid_request": 422,
    "question_too_long": 422,
    "headers_too_large": 431,
    # Cost and abuse limits (limits/)
    "rate_limited": 429,
    "caller_budget_exhausted": 429,
    "budget_exhausted": 429,
    # The model provider (models/errors.py)
    "provider_auth_failed": 502,
    "provider_error": 502,
    "provider_bad_response": 502,
    "provider_rate_limited": 503,
    "provider_unavailable": 503,
    "provider_unreachable": 503,
    "provider_timeout": 504,
    # This service, for now
    "not_ready": 503,
    "index_not_ready": 503,
    "shutting_down": 503,
    "ledger_unavailable": 503,
    "internal_error": 500,
}
# Errors the framework raises by status, named by their code in the table above.
_FRAMEWORK_CODES = {
    STATUS_BY_CODE[code]: code
    for code in ("malformed_body", "not_found", "method_not_allowed", "request_too_large")
}


class ApiError(Exception):
    """An error response: `code` is stable and decides the status (STATUS_BY_CODE)."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        request_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = STATUS_BY_CODE[code], code, detail
        self.request_id, self.headers = request_id, headers


# FastAPI's words for a body it cannot decode (invalid UTF-8, JSON nested too deeply).
_UNPARSEABLE = "There was an error parsing the body"


# Pydantic names a failed pattern by its regex; say what the pattern means instead.
_PATTERN_MEANINGS = {NOT_BLANK: "must not be blank (it needs a character that is not whitespace)"}


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for problem in error.errors():
        context = problem.get("ctx", {})
        if problem["type"] == "json_invalid":
            parts.append(f"body is not valid JSON ({context.get('error', 'parse error')})")
            continue
        location = ".".join(str(part) for part in problem["loc"] if part != "body")
        message = problem["msg"]
        if problem["type"] == "string_pattern_mismatch":
            message = _PATTERN_MEANINGS.get(context.get("pattern", ""), message)
        parts.append(f"{location or 'body'}: {message}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(error.code, error.detail, error.request_id or request_id_of(request)),
            status_code=error.status,
            headers=error.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("invalid_request", _validation_message(error), request_id_of(request)),
            status_code=STATUS_BY_CODE["invalid_request"],
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = str(error.detail)
        if error.status_code == 400 and detail == _UNPARSEABLE:
            detail = "the body could not be parsed: send UTF-8 JSON, nested at most a few levels"
        return JSONResponse(
            error_body(
                _FRAMEWORK_CODES.get(error.status_code, f"http_{error.status_code}"),
                detail,
                request_id_of(request),
            ),
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        request_id = request_id_of(request)
        logger.exception(
            "unhandled error on %s %s (request %s)", request.method, request.url.path, request_id
        )
        # Starlette answers this one outside every middleware, so the header is set here.
        return JSONResponse(
            error_body(
                "internal_error",
                "an unexpected error occurred; it has been logged with the request id",
                request_id,
            ),
            status_code=500,
            headers={REQUEST_ID_HEADER: request_id} if request_id else None,
        )


class BodySizeLimitMiddleware:
    """Reject bodies above MAX_REQUEST_BYTES with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self._message = f"request body exceeds {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise StarletteHTTPException(413, self._message)
            return message

        await self.app(scope, limited_receive, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        request_id = request_id_of(scope)
        response = JSONResponse(
            error_body("request_too_large", self._message, request_id), status_code=413
        )
        await response({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
