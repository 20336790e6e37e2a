"""Prometheus metrics. Base units, `_total` counters, `_seconds` histograms, and only
low-cardinality labels: never request, user or document ids.

Each app gets its own registry, so several apps in one process (tests) do not collide.
The metric names are the contract with ops/prometheus/rules.yml and ops/grafana/.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..vocabulary import Outcome

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


class Metrics:
    def __init__(self, daily_budget_usd: float) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_duration = Histogram(
            "http_server_request_duration_seconds",
            "HTTP request latency",
            ["method", "route", "status_code"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ask_requests = Counter("ask_requests", "Questions by outcome", ["outcome"], registry=r)
        self.feedback = Counter("feedback", "Feedback by helpfulness", ["helpful"], registry=r)
        self.llm_duration = Histogram(
            "llm_request_duration_seconds",
            "Model call latency",
            ["provider", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_tokens = Counter(
            "llm_tokens", "Model tokens", ["provider", "model", "direction"], registry=r
        )
        self.llm_cost = Counter(
            "llm_cost_usd", "Model cost in US dollars", ["provider", "model"], registry=r
        )
        self.daily_budget = Gauge("llm_daily_budget_usd", "Daily model budget", registry=r)
        self.daily_budget.set(daily_budget_usd)
        self.budget_spent = Gauge(
            "llm_budget_spent_today_usd",
            "Model spend of the current UTC day, all replicas, as this replica last read the ledger",
            registry=r,
        )
        self.ask_limited = Counter(
            "ask_limited",
            "Questions refused by a cost or abuse limit (429), by limit",
            ["reason"],
            registry=r,
        )
        self.guardrail_triggers = Counter(
            "guardrail_triggers", "Guardrail rules that fired", ["rule"], registry=r
        )
        self.index_age = Gauge(
            "index_snapshot_age_seconds", "Age of the served index snapshot", registry=r
        )
        self.index_documents = Gauge("index_documents", "Documents in the index", registry=r)
        self.ledger_write_failures = Counter(
            "ledger_write_failures",
            "Requests answered 503 because their ledger row could not be written",
            registry=r,
        )
        self.index_refresh_failures = Counter(
            "index_refresh_failures",
            "Failed attempts to follow the shared snapshot pointer (the last snapshot is served)",
            registry=r,
        )
        self.drift = Gauge(
            "drift_psi", "Population stability index, recent vs reference", ["feature"], registry=r
        )
        # Pre-create label sets so dashboards and rules see zeros, not gaps, from the start.
        for outcome in Outcome:
            self.ask_requests.labels(outcome.value)
        for reason in ("rate_limited", "caller_budget_exhausted", "budget_exhausted"):
            self.ask_limited.labels(reason)
        for helpful in ("true", "false"):
            self.feedback.labels(helpful)
