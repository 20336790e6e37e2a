"""Dashboard figures, computed from the ledger (SQLAlchemy Core on `requests` and `feedback`).

Everything is for one window ending at `now` (1h, 24h, 7d or 30d). Definitions:

- rates are shares of all requests in the window (abstained, refused, failed);
- a successful outcome (the KPI) is an answered request that got no unhelpful feedback;
  success share = successful outcomes / requests, compared with the KPI target;
- cost is the sum of the ledger's `cost_usd` (model calls without a known price add nothing and
  are counted in `unpriced_requests`); cost per successful outcome is None when there are none;
- feedback counts are the feedback given on the window's requests, whenever it was given.

Counts and sums run in SQL. Latency percentiles and the time series are computed in Python over
the window's rows: a ledger holds thousands to a few hundred thousand rows a month, which is
fine at this scale and the same on SQLite and Postgres (no percentile or date-bucket SQL,
which differs between them). Move them to SQL or to Prometheus if the ledger grows far beyond.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, Connection, and_, case, distinct, func, select

from ..drift import drift_scores
from ..ledger import Ledger
from ..ledger.tables import feedback, requests
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


def _as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; the ledger writes UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _in_window(since: dt.datetime, until: dt.datetime) -> ColumnElement[bool]:
    return requests.c.created_at.between(since, until)


def request_counts(
    connection: Connection, since: dt.datetime, until: dt.datetime
) -> tuple[RequestCounts, Tokens, float, int]:
    """Requests by outcome, tokens, total cost and the number of unpriced requests.

    Unpriced: the model was called (tokens were used) but no price is known for it. Requests
    that never reached the model (refused, abstained before generation) cost nothing.
    """
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
        .where(_in_window(since, until))
        .group_by(requests.c.outcome)
    )
    by_outcome: dict[str, int] = dict.fromkeys(Outcome, 0)
    input_tokens = output_tokens = unpriced_rows = 0
    cost = 0.0
    for outcome, count, inputs, outputs, usd, unpriced_count in connection.execute(query):
        # An outcome this dashboard does not know yet still counts in the total.
        by_outcome[outcome] = by_outcome.get(outcome, 0) + int(count)
        input_tokens += int(inputs)
        output_tokens += int(outputs)
        cost += float(usd)
        unpriced_rows += int(unpriced_count)
    total = sum(by_outcome.values())
    counts = RequestCounts(
        total=total,
        answered=by_outcome[Outcome.ANSWERED],
        abstained=by_outcome[Outcome.ABSTAINED],
        refused=by_outcome[Outcome.REFUSED],
        failed=by_outcome[Outcome.FAILED],
        limited=by_outcome[Outcome.LIMITED],
    )
    return counts, Tokens(input=input_tokens, output=output_tokens), cost, unpriced_rows


def feedback_counts(
    connection: Connection, since: dt.datetime, until: dt.datetime
) -> FeedbackCounts:
    """Feedback on the window's requests, and how many answered requests were unhelpful."""
    joined = feedback.join(requests, feedback.c.request_id == requests.c.request_id)
    by_verdict = {True: 0, False: 0}
    verdicts = (
        select(feedback.c.helpful, func.count())
        .select_from(joined)
        .where(_in_window(since, until))
        .group_by(feedback.c.helpful)
    )
    for helpful, count in connection.execute(verdicts):
        by_verdict[bool(helpful)] = int(count)
    answered_unhelpful = connection.execute(
        select(func.count(distinct(requests.c.request_id)))
        .select_from(joined)
        .where(
            _in_window(since, until),
            requests.c.outcome == "answered",
            feedback.c.helpful.is_(False),
        )
    ).scalar_one()
    return FeedbackCounts(
        helpful=by_verdict[True],
        unhelpful=by_verdict[False],
        answered_unhelpful=int(answered_unhelpful),
    )


@dataclass(frozen=True)
class LedgerRow:
    created_at: dt.datetime
    latency_ms: float
    cost_usd: float | None


def _rows(connection: Connection, since: dt.datetime, until: dt.datetime) -> list[LedgerRow]:
    query = select(requests.c.created_at, requests.c.latency_ms, requests.c.cost_usd).where(
        _in_window(since, until)
    )
    return [LedgerRow(_as_utc(at), float(ms), usd) for at, ms, usd in connection.execute(query)]


def time_series(
    rows: Sequence[LedgerRow], since: dt.datetime, until: dt.datetime, bucket_seconds: int
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


def budget_and_limits(
    connection: Connection,
    since: dt.datetime,
    until: dt.datetime,
    *,
    daily_budget_usd: float,
    enforcement: Literal["block", "alert"],
) -> BudgetAndLimits:
    """Spend of the current UTC day against the budget, and the window's limited requests."""
    today = until.replace(hour=0, minute=0, second=0, microsecond=0)
    spent = connection.execute(
        select(func.coalesce(func.sum(requests.c.cost_usd), 0.0)).where(
            requests.c.created_at >= today
        )
    ).scalar_one()
    by_reason = {
        str(code): int(count)
        for code, count in connection.execute(
            select(requests.c.error_code, func.count())
            .where(_in_window(since, until), requests.c.outcome == "limited")
            .group_by(requests.c.error_code)
        )
    }
    return BudgetAndLimits(
        daily_budget_usd=daily_budget_usd,
        enforcement=enforcement,
        spent_today_usd=float(spent),
        used_share=float(spent) / daily_budget_usd if daily_budget_usd else None,
        resets_at=today + dt.timedelta(days=1),
        limited_requests=sum(by_reason.values()),
        limited_by_reason=by_reason,
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
    until = _as_utc(now) if now is not None else dt.datetime.now(dt.UTC)
    since = until - WINDOWS[window]
    with ledger.engine.connect() as connection:
        counts, tokens, total_cost, unpriced = request_counts(connection, since, until)
        verdicts = feedback_counts(connection, since, until)
        rows = _rows(connection, since, until)
        limits = budget_and_limits(
            connection,
            since,
            until,
            daily_budget_usd=daily_budget_usd,
            enforcement=budget_enforcement,
        )
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
        tokens=tokens,
        cost=Cost(
            total_usd=total_cost,
            per_request_usd=total_cost / counts.total if counts.total else None,
            per_successful_outcome_usd=total_cost / successful if successful else None,
            unpriced_requests=unpriced,
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
        limits=limits,
        drift=[
            DriftScore(feature=feature, psi=score, status=drift_status(score))
            for feature, score in drift_scores(ledger).items()
        ],
    )
