"""What the OpenAPI document says beyond the routes' own declarations, so that it states every
status the service can return and every limit it enforces (schemathesis checks both)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from .schemas import ErrorResponse

# Any operation can meet these: the request-id middleware rejects oversized headers, and an
# unexpected error is a 500 in the error shape, never a stack trace.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    431: {"model": ErrorResponse, "description": "Request headers too large"},
    500: {"model": ErrorResponse, "description": "Unexpected error, logged with the request id"},
}


def document_question_limit(app: FastAPI, max_chars: int) -> None:
    """Put MAX_QUESTION_CHARS, a setting, into the schema as the question's maxLength."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            question = schema["components"]["schemas"]["AskRequest"]["properties"]["question"]
            question["maxLength"] = max_chars
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
