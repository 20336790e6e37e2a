"""Read-only reports over the ledger: what the dashboard, drift, the budget and eval
candidates read.

All SQL over the ledger lives in this package (store.py writes, this module reads), so a
schema change is made in one folder. Callers get plain figures and do their own arithmetic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, and_, case, distinct, func, or_, select

from ..db.timestamps import as_utc, start_of_utc_day
from ..vocabulary import QA_USE_CASE, Outcome
from .store import Ledger
from .tables import feedback, request_texts, requests


@dataclass(frozen=True)
class OutcomeTotals:
    """Requests of a window by outcome, with their tokens and cost.

    `unpriced`: requests that called the model (used tokens) but have no known price."""

    by_outcome: dict[str, int]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    unpriced: int


@dataclass(frozen=True)
class FeedbackTotals:
    helpful: int
    unhelpful: int
    answered_unhelpful: int
    """Answered requests with at least one unhelpful vote."""


@dataclass(frozen=True)
class TimedRequest:
    created_at: dt.datetime
    latency_ms: float
    cost_usd: float | None


@dataclass(frozen=True)
class WindowReport:
    """What the ledger says about the requests created in [since, until]."""

    totals: OutcomeTotals
    feedback: FeedbackTotals
    requests: list[TimedRequest]
    limited_by_reason: dict[str, int]
    spent_today_usd: float
    """Cost of the UTC day that `until` falls in (not of the window)."""


@dataclass(frozen=True)
class RequestFeatures:
    """The drift features of one request."""

    question_chars: int
    confidence: float | None
    outcome: str


def _in_window(since: dt.datetime, until: dt.datetime) -> ColumnElement[bool]:
    return requests.c.created_at.between(since, until)


# The Q&A slice's figures (its outcomes, KPI, drift, eval candidates) count its own requests
# only; spend and limits are the service's, whatever slice a request went to.
_QA = requests.c.use_case == QA_USE_CASE


def window_report(
    ledger: Ledger, since: dt.datetime, until: dt.datetime, use_case: str = QA_USE_CASE
) -> WindowReport:
    """Every figure of one window, read on one connection: the requests, outcomes and cost of
    the slice `use_case`; limits and today's spend of the whole service."""
    today = start_of_utc_day(until)
    slice_ = requests.c.use_case == use_case
    with ledger.engine.connect() as connection:
        return WindowReport(
            totals=_outcome_totals(connection, since, until, slice_),
            feedback=_feedback_totals(connection, since, until, slice_),
            requests=[
                TimedRequest(as_utc(at), float(ms), usd)
                for at, ms, usd in connection.execute(
                    select(requests.c.created_at, requests.c.latency_ms, requests.c.cost_usd).where(
                        _in_window(since, until), slice_
                    )
                )
            ],
            limited_by_reason={
                str(code): int(count)
                for code, count in connection.execute(
                    select(requests.c.error_code, func.count())
                    .where(_in_window(since, until), requests.c.outcome == Outcome.LIMITED)
                    .group_by(requests.c.error_code)
                )
            },
            spent_today_usd=float(
                connection.execute(
                    select(func.coalesce(func.sum(requests.c.cost_usd), 0.0)).where(
                        requests.c.created_at >= today
                    )
                ).scalar_one()
            ),
        )


def _outcome_totals(
    connection: Connection, since: dt.datetime, until: dt.datetime, slice_: ColumnElement[bool]
) -> OutcomeTotals:
    unpriced = and_(
        requests.c.cost_usd.is_(None),
        requests.c.input_tokens + requests.c.output_tokens > 0,
    )
    query = (
        select(
            requests.c.outcome,
            func.count(),
            func.coalesce(func.sum(requests.c.input_tokens), 0),
            func.coalesce(func.sum(requests.c.output_tokens), 0),
            func.coalesce(func.sum(requests.c.cost_usd), 0.0),
            func.coalesce(func.sum(case((unpriced, 1), else_=0)), 0),
        )
        .where(_in_window(since, until), slice_)
        .group_by(requests.c.outcome)
    )
    by_outcome: dict[str, int] = {}
    input_tokens = output_tokens = unpriced_rows = 0
    cost = 0.0
    for outcome, count, inputs, outputs, usd, unpriced_count in connection.execute(query):
        by_outcome[str(outcome)] = int(count)
        input_tokens += int(inputs)
        output_tokens += int(outputs)
        cost += float(usd)
        unpriced_rows += int(unpriced_count)
    return OutcomeTotals(by_outcome, input_tokens, output_tokens, cost, unpriced_rows)


def _feedback_totals(
    connection: Connection, since: dt.datetime, until: dt.datetime, slice_: ColumnElement[bool]
) -> FeedbackTotals:
    joined = feedback.join(requests, feedback.c.request_id == requests.c.request_id)
    by_verdict = {True: 0, False: 0}
    verdicts = (
        select(feedback.c.helpful, func.count())
        .select_from(joined)
        .where(_in_window(since, until), slice_)
        .group_by(feedback.c.helpful)
    )
    for helpful, count in connection.execute(verdicts):
        by_verdict[bool(helpful)] = int(count)
    answered_unhelpful = connection.execute(
        select(func.count(distinct(requests.c.request_id)))
        .select_from(joined)
        .where(
            _in_window(since, until),
            slice_,
            requests.c.outcome == Outcome.ANSWERED,
            feedback.c.helpful.is_(False),
        )
    ).scalar_one()
    return FeedbackTotals(by_verdict[True], by_verdict[False], int(answered_unhelpful))


def latest_requests(ledger: Ledger, limit: int) -> list[RequestFeatures]:
    """The drift features of the latest `limit` requests, newest first."""
    query = (
        select(requests.c.question_chars, requests.c.retrieval_confidence, requests.c.outcome)
        .where(_QA)
        .order_by(requests.c.created_at.desc())
        .limit(limit)
    )
    with ledger.engine.connect() as connection:
        return [RequestFeatures(*row) for row in connection.execute(query)]


def spend_by_caller_since(ledger: Ledger, since: dt.datetime) -> dict[str, float]:
    """Ledger cost per caller since `since` (unpriced calls, cost null, count nothing)."""
    query = (
        select(requests.c.caller, func.coalesce(func.sum(requests.c.cost_usd), 0.0))
        .where(requests.c.created_at >= since)
        .group_by(requests.c.caller)
    )
    with ledger.engine.connect() as connection:
        return {str(caller): float(usd) for caller, usd in connection.execute(query)}


@dataclass(frozen=True)
class ReviewRow:
    """A request abstained on or voted unhelpful, with its kept (redacted) question text, if
    any: the raw material of eval candidates."""

    request_id: str
    created_at: dt.datetime
    snapshot_id: str | None
    outcome: str
    guardrail: str | None
    retrieval_confidence: float | None
    cited_doc_ids: str | None
    question: str | None
    retrieved_doc_ids: str | None


def rows_for_review(
    engine: Engine, since: dt.datetime
) -> tuple[list[ReviewRow], dict[str, list[str | None]]]:
    """Requests since `since` that were abstained on or voted unhelpful, newest first, and the
    comments of their unhelpful votes by request id (in the order given)."""
    unhelpful_ids = select(feedback.c.request_id).where(feedback.c.helpful.is_(False))
    qualifies = or_(
        requests.c.outcome == Outcome.ABSTAINED, requests.c.request_id.in_(unhelpful_ids)
    )
    query = (
        select(
            requests.c.request_id,
            requests.c.created_at,
            requests.c.snapshot_id,
            requests.c.outcome,
            requests.c.guardrail,
            requests.c.retrieval_confidence,
            requests.c.cited_doc_ids,
            request_texts.c.question,
            request_texts.c.retrieved_doc_ids,
        )
        .select_from(requests)
        .outerjoin(request_texts, request_texts.c.request_id == requests.c.request_id)
        .where(requests.c.created_at >= since, _QA, qualifies)
        .order_by(requests.c.created_at.desc(), requests.c.request_id)
    )
    comments_query = (
        select(feedback.c.request_id, feedback.c.comment)
        .join(requests, requests.c.request_id == feedback.c.request_id)
        .where(requests.c.created_at >= since, feedback.c.helpful.is_(False))
        .order_by(feedback.c.feedback_id)
    )
    with engine.connect() as connection:
        rows = [ReviewRow(*row) for row in connection.execute(query)]
        comments: dict[str, list[str | None]] = {}
        for request_id, comment in connection.execute(comments_query):
            comments.setdefault(str(request_id), []).append(comment)
    return rows, comments
