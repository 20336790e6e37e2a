"""Routes: health probes (no auth) and the versioned API (API key required)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool

from ..guardrails import redact_pii
from ..ledger import FeedbackExistsError, LedgerUnavailableError, UnknownRequestError
from ..lifecycle import RequestFailedError
from ..retrieval import IndexNotReadyError
from .auth import Caller
from .context import request_id_of
from .deps import LedgerDep, MetricsDep, PipelineDep, ServicesDep
from .errors import ApiError
from .schemas import (
    AskRequest,
    AskResponse,
    CitationOut,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    HealthResponse,
    ReadinessResponse,
)

probes = APIRouter(tags=["probes"])
v1 = APIRouter(
    prefix="/v1",
    tags=["v1"],
    responses={
        400: {"model": ErrorResponse, "description": "Body is not parseable UTF-8 JSON"},
        401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
        413: {"model": ErrorResponse, "description": "Request body too large"},
        422: {"model": ErrorResponse, "description": "Invalid request body"},
    },
)


@probes.get("/healthz", response_model=HealthResponse, summary="Liveness")
def healthz() -> HealthResponse:
    """The process is up. Used by liveness probes; does no I/O."""
    return HealthResponse(status="ok")


@probes.get(
    "/readyz",
    response_model=ReadinessResponse,
    summary="Readiness",
    responses={503: {"model": ReadinessResponse, "description": "Not ready"}},
)
def readyz(services: ServicesDep, response: Response) -> ReadinessResponse:
    """Ready when an index snapshot is served and the database answers; not ready while
    shutting down (so the load balancer stops sending traffic first)."""
    checks: dict[str, str] = {}
    if services.shutdown.draining:
        checks["shutdown"] = "failed: shutting down"
    snapshot_id = None
    try:
        snapshot_id, _, documents = services.index.snapshot()
        checks["index"] = f"ok ({documents} documents)"
    except IndexNotReadyError as error:
        checks["index"] = f"failed: {error}"
    try:
        services.ledger.ping()
        checks["database"] = "ok"
    except Exception as error:  # any driver error means "not ready", never a 500
        checks["database"] = f"failed: {type(error).__name__}"
    ready = all(value.startswith("ok") for value in checks.values())
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return ReadinessResponse(
        status="ready" if ready else "not_ready",
        checks=checks,
        snapshot_id=snapshot_id,
        release=services.settings.release_id,
    )


# An OpenAPI link: the request_id of an answer is what /v1/feedback takes (clients and
# schemathesis' stateful tests follow it).
FEEDBACK_LINK = {
    "GiveFeedback": {
        "operationId": "give_feedback",
        "requestBody": {"request_id": "$response.body#/request_id", "helpful": True},
        "description": "Say whether this answer helped",
    }
}


@v1.post(
    "/ask",
    response_model=AskResponse,
    summary="Ask a question over the governed documents",
    operation_id="ask",
    responses={
        200: {"description": "An answer, an abstention or a refusal", "links": FEEDBACK_LINK},
        429: {
            "model": ErrorResponse,
            "description": (
                "A cost or abuse limit refused the request before the model was called: "
                "`budget_exhausted` (DAILY_BUDGET_USD spent today), `caller_budget_exhausted` "
                "(CALLER_DAILY_BUDGET_USD), or `rate_limited` (CALLER_REQUESTS_PER_MINUTE). "
                "`Retry-After` says when to retry (for budgets: the next midnight UTC)."
            ),
            "headers": {
                "Retry-After": {
                    "description": "Seconds until the limit allows the request again",
                    "schema": {"type": "integer"},
                }
            },
        },
        502: {"model": ErrorResponse, "description": "The model provider failed"},
        503: {"model": ErrorResponse, "description": "Provider unavailable or index not ready"},
        504: {"model": ErrorResponse, "description": "The model provider timed out"},
    },
)
async def ask(
    body: AskRequest, request: Request, response: Response, caller: Caller, pipeline: PipelineDep
) -> AskResponse:
    """Answer from the governed documents with citations, or abstain, or refuse.

    Every call is recorded in the ledger with its request id and trace id.
    """
    # The schema's maxLength (app.py puts MAX_QUESTION_CHARS into the OpenAPI document).
    limit = pipeline.settings.max_question_chars
    if len(body.question) > limit:
        raise ApiError("question_too_long", f"question exceeds {limit} characters")
    try:
        result = await pipeline.ask(body.question, caller, request_id=request_id_of(request))
    except RequestFailedError as failure:
        raise ApiError.from_failure(failure) from failure
    response.headers["X-Trace-ID"] = result.trace_id
    return AskResponse(
        answer=result.answer,
        citations=[CitationOut(**vars(citation)) for citation in result.citations],
        outcome=result.outcome,
        request_id=result.request_id,
        trace_id=result.trace_id,
    )


@v1.post(
    "/feedback",
    response_model=FeedbackResponse,
    status_code=status.HTTP_201_CREATED,
    summary="Say whether an answer helped",
    operation_id="give_feedback",
    responses={
        404: {"model": ErrorResponse, "description": "Unknown request_id"},
        409: {"model": ErrorResponse, "description": "This request already has its vote"},
        503: {"model": ErrorResponse, "description": "Ledger unavailable; retry"},
    },
)
async def feedback(
    body: FeedbackRequest, caller: Caller, ledger: LedgerDep, metrics: MetricsDep
) -> FeedbackResponse:
    """Close the loop: feedback turns requests into business outcomes (cost per outcome).

    One vote per request: a second vote on the same request_id is 409 `feedback_exists`, so a
    retried or repeated click cannot count twice or contradict the first."""
    comment = redact_pii(body.comment).text if body.comment else None
    try:
        feedback_id = await run_in_threadpool(
            ledger.record_feedback,
            body.request_id,
            helpful=body.helpful,
            comment=comment,
        )
    except UnknownRequestError:
        raise ApiError("unknown_request", f"no request with id {body.request_id}") from None
    except FeedbackExistsError:
        raise ApiError(
            "feedback_exists", f"request {body.request_id} already has feedback"
        ) from None
    except LedgerUnavailableError as error:
        raise ApiError(
            "ledger_unavailable", f"{error}; the feedback was not saved, retry shortly"
        ) from error
    metrics.feedback.labels("true" if body.helpful else "false").inc()
    return FeedbackResponse(feedback_id=feedback_id, request_id=body.request_id)
