"""Dashboard figures, computed from the ledger's window report (ledger/reports.py).

Everything is for one window ending at `now` (1h, 24h, 7d or 30d). Definitions:

- rates are shares of all requests in the window (abstained, refused, failed);
- a successful outcome (the KPI) is an answered request that got no unhelpful feedback;
  success share = successful outcomes / requests, compared with the KPI target;
- cost is the sum of the ledger's `cost_usd` (model calls without a known price add nothing and
  are counted in `unpriced_requests`); cost per successful outcome is None when there are none;
- feedback counts are the feedback given on the window's requests, whenever it was given.

Counts and sums run in SQL (ledger/reports.py). Latency percentiles and the time series are computed in Python over
the window's rows: a ledger holds thousands to a few hundred thousand rows a month, which is
fine at this scale and the same on SQLite and Postgres (no percentile or date-bucket SQL,
which differs between them). Move them to SQL or to Prometheus if the ledger grows far beyond.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal

from ..db.timestamps import as_utc, next_utc_midnight
from ..drift import drift_scores
from ..ledger import Ledger
from ..ledger.reports import OutcomeTotals, TimedRequest, WindowReport, window_report
from ..vocabulary import Outcome, percentile
from .kpi import KPI_NAME, KPI_TARGET_PERCENT
from .schemas import (
    Bucket,
    BudgetAndLimits,
    Cost,
    DashboardData,
    DriftScore,
    DriftStatus,
    FeedbackCounts,
    Kpi,
    Latency,
    Rates,
    RequestCounts,
    Tokens,
    Window,
)

WINDOWS: dict[Window, dt.timedelta] = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
# Time-series resolution: 5-minute buckets for 1h, hourly for 24h, daily for 7d and 30d.
BUCKET_SECONDS: dict[Window, int] = {"1h": 300, "24h": 3600, "7d": 86_400, "30d": 86_400}
# PSI bands, as in drift.py: < 0.1 stable, 0.1-0.25 worth a look, > 0.25 a real shift.
DRIFT_WATCH = 0.1
DRIFT_SHIFT = 0.25


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def time_series(
    rows: Sequence[TimedRequest], since: dt.datetime, until: dt.datetime, bucket_seconds: int
) -> list[Bucket]:
    """Requests, cost and p95 latency per bucket, buckets aligned to UTC (every one present)."""
    first = math.floor(since.timestamp() / bucket_seconds) * bucket_seconds
    last = math.floor(until.timestamp() / bucket_seconds) * bucket_seconds
    starts = range(first, last + 1, bucket_seconds)
    latencies: dict[int, list[float]] = {start: [] for start in starts}
    costs: dict[int, float] = dict.fromkeys(starts, 0.0)
    for row in rows:
        start = math.floor(row.created_at.timestamp() / bucket_seconds) * bucket_seconds
        if start in latencies:
            latencies[start].append(row.latency_ms)
            costs[start] += row.cost_usd or 0.0
    return [
        Bucket(
            start=dt.datetime.fromtimestamp(start, dt.UTC),
            requests=len(latencies[start]),
            cost_usd=costs[start],
            p95_latency_ms=percentile(latencies[start], 95),
        )
        for start in starts
    ]


def _request_counts(totals: OutcomeTotals) -> RequestCounts:
    by_outcome = totals.by_outcome
    return RequestCounts(
        # An outcome this dashboard does not know yet still counts in the total.
        total=sum(by_outcome.values()),
        answered=by_outcome.get(Outcome.ANSWERED, 0),
        abstained=by_outcome.get(Outcome.ABSTAINED, 0),
        refused=by_outcome.get(Outcome.REFUSED, 0),
        failed=by_outcome.get(Outcome.FAILED, 0),
        limited=by_outcome.get(Outcome.LIMITED, 0),
    )


def _budget_and_limits(
    report: WindowReport,
    until: dt.datetime,
    *,
    daily_budget_usd: float,
    enforcement: Literal["block", "alert"],
) -> BudgetAndLimits:
    """Spend of the current UTC day against the budget, and the window's limited requests."""
    spent = report.spent_today_usd
    return BudgetAndLimits(
        daily_budget_usd=daily_budget_usd,
        enforcement=enforcement,
        spent_today_usd=spent,
        used_share=spent / daily_budget_usd if daily_budget_usd else None,
        resets_at=next_utc_midnight(until),
        limited_requests=sum(report.limited_by_reason.values()),
        limited_by_reason=report.limited_by_reason,
    )


def drift_status(score: float | None) -> DriftStatus:
    if score is None:
        return "insufficient_data"
    if score > DRIFT_SHIFT:
        return "shift"
    return "watch" if score >= DRIFT_WATCH else "stable"


def dashboard_data(
    ledger: Ledger,
    window: Window,
    *,
    service: str,
    now: dt.datetime | None = None,
    kpi_name: str = KPI_NAME,
    kpi_target_percent: int = KPI_TARGET_PERCENT,
    daily_budget_usd: float = 0.0,
    budget_enforcement: Literal["block", "alert"] = "block",
) -> DashboardData:
    """Every figure of the dashboard for the window ending at `now` (default: the present)."""
    until = as_utc(now) if now is not None else dt.datetime.now(dt.UTC)
    since = until - WINDOWS[window]
    report = window_report(ledger, since, until)
    counts = _request_counts(report.totals)
    verdicts = FeedbackCounts(
        helpful=report.feedback.helpful,
        unhelpful=report.feedback.unhelpful,
        answered_unhelpful=report.feedback.answered_unhelpful,
    )
    total_cost, rows = report.totals.cost_usd, report.requests
    latencies = [row.latency_ms for row in rows]
    successful = counts.answered - verdicts.answered_unhelpful
    success_share = _share(successful, counts.total)
    return DashboardData(
        service=service,
        window=window,
        generated_at=until,
        since=since,
        bucket_seconds=BUCKET_SECONDS[window],
        requests=counts,
        rates=Rates(
            abstain_rate=_share(counts.abstained, counts.total),
            refusal_rate=_share(counts.refused, counts.total),
            error_rate=_share(counts.failed, counts.total),
        ),
        latency=Latency(p50_ms=percentile(latencies, 50), p95_ms=percentile(latencies, 95)),
        tokens=Tokens(input=report.totals.input_tokens, output=report.totals.output_tokens),
        cost=Cost(
            total_usd=total_cost,
            per_request_usd=total_cost / counts.total if counts.total else None,
            per_successful_outcome_usd=total_cost / successful if successful else None,
            unpriced_requests=report.totals.unpriced,
        ),
        kpi=Kpi(
            name=kpi_name,
            target_percent=kpi_target_percent,
            successful_outcomes=successful,
            success_share=success_share,
            # In integers: 0.29 * 100 is 28.999999999999996 in floating point.
            meets_target=(
                successful * 100 >= kpi_target_percent * counts.total if counts.total else None
            ),
        ),
        feedback=verdicts,
        series=time_series(rows, since, until, BUCKET_SECONDS[window]),
        limits=_budget_and_limits(
            report, until, daily_budget_usd=daily_budget_usd, enforcement=budget_enforcement
        ),
        drift=[
            DriftScore(feature=feature, psi=score, status=drift_status(score))
            for feature, score in drift_scores(ledger).items()
        ],
    )
