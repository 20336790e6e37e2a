"""Request and response bodies of the public API (they define the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..vocabulary import AnswerOutcome

# "Contains a character that is not whitespace", spelled out: `\s` means different sets in the
# validator (Rust regex), in JSON Schema (ECMA-262) and in Python's re, so a schema-valid question
# could be refused. This class is every character any of them counts as whitespace.
WHITESPACE = "\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK = f"[^{WHITESPACE}]"


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        # At least one character that is not whitespace: the schema says what is accepted.
        pattern=NOT_BLANK,
        description="The question, in natural language. PII is redacted before use.",
        examples=["How many days of annual leave can I carry over?"],
    )


class CitationOut(BaseModel):
    doc_id: str = Field(description="Id of the governed document the answer relies on.")
    title: str
    snippet: str = Field(description="The retrieved passage the citation points to.")


class AskResponse(BaseModel):
    answer: str
    citations: list[CitationOut]
    outcome: AnswerOutcome = Field(
        description=(
            "answered: grounded answer with citations; abstained: not enough evidence; "
            "refused: the request broke a guardrail."
        )
    )
    request_id: str = Field(description="Quote it in /v1/feedback and support requests.")
    trace_id: str = Field(description="OpenTelemetry trace id of this request.")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="From the /v1/ask response.")
    helpful: bool
    comment: str | None = Field(
        default=None, max_length=1000, description="Optional; PII is redacted."
    )


class FeedbackResponse(BaseModel):
    feedback_id: int
    request_id: str


class ErrorResponse(BaseModel):
    code: str = Field(description="Stable machine-readable error code.")
    detail: str = Field(description="What went wrong, for humans.")
    request_id: str | None = Field(
        default=None,
        description="The request's id, also in the X-Request-ID header; quote it to support.",
    )


class HealthResponse(BaseModel):
    status: Literal["ok"]


class ReadinessResponse(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]
    snapshot_id: str | None = None
    release: str | None = Field(
        default=None, description="The release this process runs (RELEASE_ID), when deployed"
    )
