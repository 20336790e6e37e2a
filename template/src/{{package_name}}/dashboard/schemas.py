"""The JSON of `GET /dashboard/data`: what finance and on-call read, figure by figure."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Window = Literal["1h", "24h", "7d", "30d"]
DriftStatus = Literal["stable", "watch", "shift", "insufficient_data"]


class RequestCounts(BaseModel):
    total: int = Field(description="Requests recorded in the window")
    answered: int
    abstained: int
    refused: int
    failed: int
    limited: int = Field(description="Refused by a cost or abuse limit (429)")


class Rates(BaseModel):
    """Shares of all requests in the window (0-1); null when there were no requests."""

    abstain_rate: float | None
    refusal_rate: float | None
    error_rate: float | None = Field(description="Share of requests that failed")


class Latency(BaseModel):
    p50_ms: float | None = Field(description="Median end-to-end latency; null without requests")
    p95_ms: float | None


class Tokens(BaseModel):
    input: int
    output: int


class Cost(BaseModel):
    total_usd: float = Field(description="Sum of the ledger's cost_usd (unpriced calls count 0)")
    per_request_usd: float | None = Field(description="total_usd / requests")
    per_successful_outcome_usd: float | None = Field(
        description="total_usd / successful outcomes; null when there are none"
    )
    unpriced_requests: int = Field(
        description="Requests that called the model but have no known price (cost_usd null)"
    )


class Kpi(BaseModel):
    name: str = Field(description="What one successful outcome is")
    target_percent: int = Field(description="Target share of requests, in percent")
    successful_outcomes: int = Field(description="Answered requests not marked unhelpful")
    success_share: float | None = Field(description="successful_outcomes / requests (0-1)")
    meets_target: bool | None


class FeedbackCounts(BaseModel):
    """Feedback given on the window's requests (whenever it was given)."""

    helpful: int
    unhelpful: int
    answered_unhelpful: int = Field(
        description="Answered requests with at least one unhelpful feedback"
    )


class Bucket(BaseModel):
    start: dt.datetime = Field(description="Bucket start, UTC")
    requests: int
    cost_usd: float
    p95_latency_ms: float | None = Field(description="null for a bucket without requests")


class DriftScore(BaseModel):
    feature: str
    psi: float | None = Field(description="Population stability index; null: too little traffic")
    status: DriftStatus


class BudgetAndLimits(BaseModel):
    """The daily budget (all callers and replicas, from the ledger) and the requests that cost
    and abuse limits refused (429) in the window."""

    daily_budget_usd: float = Field(description="DAILY_BUDGET_USD; 0: no budget")
    enforcement: Literal["block", "alert"] = Field(description="BUDGET_ENFORCEMENT")
    spent_today_usd: float = Field(description="Ledger cost since 00:00 UTC today")
    used_share: float | None = Field(description="spent_today_usd / daily_budget_usd (0-1+)")
    resets_at: dt.datetime = Field(description="Next 00:00 UTC, when the daily budgets reset")
    limited_requests: int = Field(description="Requests refused by a limit in the window")
    limited_by_reason: dict[str, int] = Field(
        description="budget_exhausted, caller_budget_exhausted, rate_limited: requests each"
    )


class DashboardData(BaseModel):
    service: str
    window: Window
    generated_at: dt.datetime
    since: dt.datetime = Field(description="Start of the window (generated_at minus the window)")
    bucket_seconds: int = Field(description="Width of each time-series bucket")
    requests: RequestCounts
    rates: Rates
    latency: Latency
    tokens: Tokens
    cost: Cost
    kpi: Kpi
    feedback: FeedbackCounts
    series: list[Bucket]
    limits: BudgetAndLimits
    drift: list[DriftScore] = Field(
        description="PSI of the latest requests vs the ones before (independent of the window)"
    )
