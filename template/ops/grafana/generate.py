"""Grafana dashboards as code: build the service's dashboards and write them as JSON.

    python ops/grafana/generate.py           # (re)write ops/grafana/dashboards/*.json
    python ops/grafana/generate.py --check   # exit 1 if the committed JSON is not what this builds

Every panel is a PromQL query over the service's metrics (src/<package>/telemetry/metrics.py) or
the recording rules in ops/prometheus/rules.yml. Standard library only; commit the JSON it writes.
Dashboards pick their Prometheus through the `$datasource` variable. If several services from
this template share one Grafana, give each its own UID_PREFIX, as uids must be unique there.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "dashboards"
UID_PREFIX = "thinslice"
TAGS = ["thinslice", "ai-service"]
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
# Dashboard grid: 24 columns wide.
GRID_WIDTH = 24
STAT_HEIGHT = 4
TIMESERIES_HEIGHT = 8

Json = dict[str, Any]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """One panel: `stat` (a single current value) or `timeseries`."""

    title: str
    kind: str
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    # Value at which the panel turns red (an alert threshold), if any.
    red_above: float | None = None
    decimals: int | None = None


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    description: str
    panels: list[Panel] = field(default_factory=list)


def stat(title: str, expr: str, unit: str, **kwargs: Any) -> Panel:
    return Panel(title=title, kind="stat", queries=(Query(expr),), unit=unit, **kwargs)


def timeseries(title: str, *queries: Query, unit: str = "short", **kwargs: Any) -> Panel:
    return Panel(title=title, kind="timeseries", queries=queries, unit=unit, **kwargs)


def dashboards() -> list[Dashboard]:
    cost = Dashboard(
        slug="cost-kpis",
        title="Cost & KPIs",
        description="Model spend against the daily budget, cost per request and per successful "
        "outcome, and the business KPI against its target.",
        panels=[
            stat(
                "Cost per successful outcome (1h)",
                "slice:cost_per_outcome_usd:1h",
                "currencyUSD",
                decimals=4,
                description="Model cost / (answered - unhelpful feedback), last hour.",
            ),
            stat(
                "KPI: successful outcomes (1h)",
                "slice:success_ratio:rate1h",
                "percentunit",
                description="Share of requests answered and not marked unhelpful, last hour.",
            ),
            stat(
                "Projected 24h model cost",
                "slice:cost_usd:projected_24h",
                "currencyUSD",
                decimals=2,
                description="The last hour's burn rate extrapolated to a day.",
            ),
            stat(
                "Daily budget",
                "max(llm_daily_budget_usd)",
                "currencyUSD",
                decimals=2,
                description="The configured daily model budget (0: none).",
            ),
            timeseries(
                "Projected 24h cost vs daily budget",
                Query("slice:cost_usd:projected_24h", "projected 24h"),
                Query("max(llm_daily_budget_usd)", "daily budget"),
                unit="currencyUSD",
            ),
            timeseries(
                "Cost per request and per successful outcome (1h)",
                Query("slice:cost_per_request_usd:1h", "per request"),
                Query("slice:cost_per_outcome_usd:1h", "per successful outcome"),
                unit="currencyUSD",
            ),
            timeseries(
                "Successful outcomes vs KPI target",
                Query("slice:success_ratio:rate1h", "successful outcomes (1h)"),
                Query("slice:kpi_target:ratio", "target"),
                unit="percentunit",
            ),
            timeseries(
                "Requests by outcome",
                Query("sum by (outcome) (rate(ask_requests_total[5m]))", "{{outcome}}"),
                unit="reqps",
            ),
            timeseries(
                "Spend today vs daily budget",
                Query("max(llm_budget_spent_today_usd)", "spent today (UTC, ledger)"),
                Query("max(llm_daily_budget_usd)", "daily budget"),
                unit="currencyUSD",
                description="Model spend of the current UTC day, all replicas, as the replicas "
                "last read it from the ledger; at the budget, requests are refused (429).",
            ),
            timeseries(
                "Limited requests (429) by limit",
                Query("sum by (reason) (rate(ask_limited_total[5m]))", "{{reason}}"),
                unit="reqps",
                description="Requests refused before the model: budget_exhausted "
                "(DAILY_BUDGET_USD), caller_budget_exhausted, rate_limited (per API key).",
            ),
            timeseries(
                "Model spend by model (USD per hour)",
                Query(
                    "sum by (provider, model) (rate(llm_cost_usd_total[5m])) * 3600",
                    "{{provider}} {{model}}",
                ),
                unit="currencyUSD",
            ),
            timeseries(
                "Tokens per second by model and direction",
                Query(
                    "sum by (model, direction) (rate(llm_tokens_total[5m]))",
                    "{{model}} {{direction}}",
                ),
            ),
        ],
    )
    latency = Dashboard(
        slug="latency-errors",
        title="Latency & errors",
        description="API latency against the 2 s p95 SLO, 5xx errors and model-call latency.",
        panels=[
            stat(
                "p95 API latency (5m)",
                "slice:request_latency_seconds:p95_5m",
                "s",
                red_above=2,
            ),
            stat("5xx ratio (5m)", "slice:error_ratio:rate5m", "percentunit", red_above=0.05),
            stat("API requests per second", "slice:http_requests:rate5m", "reqps"),
            stat(
                "p95 model latency (5m)",
                "max(slice:llm_latency_seconds:p95_5m)",
                "s",
            ),
            timeseries(
                "p95 API latency by route",
                Query(
                    "histogram_quantile(0.95, sum by (le, route) "
                    '(rate(http_server_request_duration_seconds_bucket{route=~"/v1/.+"}[5m]))) '
                    ">= 0",
                    "{{route}}",
                ),
                Query("slice:request_latency_seconds:p95_5m", "all /v1 routes"),
                unit="s",
                red_above=2,
            ),
            timeseries(
                "5xx ratio",
                Query("slice:error_ratio:rate5m", "5xx share of /v1 requests"),
                unit="percentunit",
                red_above=0.05,
            ),
            timeseries(
                "Requests per second by route and status",
                Query(
                    "sum by (route, status_code) "
                    "(rate(http_server_request_duration_seconds_count[5m]))",
                    "{{route}} {{status_code}}",
                ),
                unit="reqps",
            ),
            timeseries(
                "p95 model latency by model",
                Query("slice:llm_latency_seconds:p95_5m", "{{provider}} {{model}}"),
                unit="s",
            ),
            timeseries(
                "Model calls per second by model",
                Query(
                    "sum by (provider, model) (rate(llm_request_duration_seconds_count[5m]))",
                    "{{provider}} {{model}}",
                ),
                unit="reqps",
            ),
        ],
    )
    quality = Dashboard(
        slug="quality-guardrails-drift",
        title="Quality, guardrails & drift",
        description="Abstentions, feedback, guardrail triggers, drift of inputs and behaviour, "
        "and the freshness of the index snapshot.",
        panels=[
            stat("Abstain ratio (1h)", "slice:abstain_ratio:rate1h", "percentunit"),
            stat(
                "Helpful feedback (1h)",
                "slice:helpful_feedback_ratio:rate1h",
                "percentunit",
            ),
            stat(
                "Index snapshot age",
                "max(index_snapshot_age_seconds)",
                "s",
                red_above=8 * 86400,
            ),
            stat("Indexed documents", "max(index_documents)", "short"),
            timeseries(
                "Outcome shares (1h)",
                Query(
                    "sum by (outcome) (rate(ask_requests_total[1h])) "
                    "/ on() group_left() (slice:requests:rate1h > 0)",
                    "{{outcome}}",
                ),
                unit="percentunit",
            ),
            timeseries(
                "Guardrail triggers per second by rule",
                Query("slice:guardrail_triggers:rate5m", "{{rule}}"),
                Query("slice:guardrail_triggers:rate1d", "{{rule}} (1-day average)"),
                unit="reqps",
            ),
            timeseries(
                "Drift: population stability index by feature",
                Query("max by (feature) (drift_psi)", "{{feature}}"),
                red_above=0.25,
                description="Recent vs reference window; above 0.25 is a significant shift.",
            ),
            timeseries(
                "Feedback per second",
                Query("sum by (helpful) (rate(feedback_total[5m]))", "helpful={{helpful}}"),
                unit="reqps",
            ),
            timeseries(
                "Index snapshot age over time",
                Query("max(index_snapshot_age_seconds)", "age"),
                unit="s",
                red_above=8 * 86400,
            ),
        ],
    )
    return [cost, latency, quality]


def thresholds(red_above: float | None) -> Json:
    steps: list[Json] = [{"color": "green", "value": None}]
    if red_above is not None:
        steps.append({"color": "red", "value": red_above})
    return {"mode": "absolute", "steps": steps}


def panel_json(panel: Panel, panel_id: int, x: int, y: int, width: int, height: int) -> Json:
    defaults: Json = {"unit": panel.unit, "thresholds": thresholds(panel.red_above)}
    if panel.decimals is not None:
        defaults["decimals"] = panel.decimals
    if panel.kind == "stat":
        options: Json = {
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "auto",
        }
    else:
        defaults["custom"] = {
            "drawStyle": "line",
            "fillOpacity": 10,
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
            "thresholdsStyle": {"mode": "off" if panel.red_above is None else "line"},
        }
        options = {
            "legend": {"calcs": [], "displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    return {
        "datasource": DATASOURCE,
        "description": panel.description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "gridPos": {"h": height, "w": width, "x": x, "y": y},
        "id": panel_id,
        "options": options,
        "targets": [
            {
                "datasource": DATASOURCE,
                "expr": query.expr,
                "legendFormat": query.legend or "__auto",
                "range": True,
                "refId": chr(ord("A") + index),
            }
            for index, query in enumerate(panel.queries)
        ],
        "title": panel.title,
        "type": panel.kind,
    }


def layout(panels: list[Panel]) -> list[Json]:
    """Stats in a row across the top (up to 6), then time series two to a row."""
    result: list[Json] = []
    stats = [p for p in panels if p.kind == "stat"]
    series = [p for p in panels if p.kind != "stat"]
    y = 0
    if stats:
        width = max(GRID_WIDTH // len(stats), GRID_WIDTH // 6)
        for index, panel in enumerate(stats):
            x = (index * width) % GRID_WIDTH
            y_row = y + (index * width) // GRID_WIDTH * STAT_HEIGHT
            result.append(panel_json(panel, len(result) + 1, x, y_row, width, STAT_HEIGHT))
        y += ((len(stats) * width - 1) // GRID_WIDTH + 1) * STAT_HEIGHT
    half = GRID_WIDTH // 2
    for index, panel in enumerate(series):
        x = half * (index % 2)
        y_row = y + (index // 2) * TIMESERIES_HEIGHT
        result.append(panel_json(panel, len(result) + 1, x, y_row, half, TIMESERIES_HEIGHT))
    return result


def dashboard_json(dashboard: Dashboard) -> Json:
    return {
        "annotations": {"list": []},
        "description": dashboard.description,
        "editable": True,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "panels": layout(dashboard.panels),
        "refresh": "1m",
        "schemaVersion": 39,
        "tags": TAGS,
        "templating": {
            "list": [
                {
                    "current": {},
                    "hide": 0,
                    "includeAll": False,
                    "label": "Data source",
                    "multi": False,
                    "name": "datasource",
                    "options": [],
                    "query": "prometheus",
                    "refresh": 1,
                    "regex": "",
                    "type": "datasource",
                }
            ]
        },
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": dashboard.title,
        "uid": f"{UID_PREFIX}-{dashboard.slug}",
        "version": 1,
    }


def render() -> dict[str, str]:
    """File name -> JSON text: sorted keys, 2-space indent, trailing newline."""
    return {
        f"{board.slug}.json": json.dumps(dashboard_json(board), indent=2, sort_keys=True) + "\n"
        for board in dashboards()
    }


def check(out_dir: Path) -> list[str]:
    """Problems with the committed JSON in out_dir; empty when it is what render() builds."""
    expected = render()
    problems = []
    for name, text in sorted(expected.items()):
        path = out_dir / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path} differs from what generate.py builds")
    for path in sorted(out_dir.glob("*.json")):
        if path.name not in expected:
            problems.append(f"{path} is not built by generate.py (delete it or add it)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed JSON is out of date"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="dashboards folder")
    args = parser.parse_args(argv)
    out_dir: Path = args.out
    if args.check:
        problems = check(out_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("Run `python ops/grafana/generate.py` and commit the result.", file=sys.stderr)
            return 1
        print(f"{len(render())} dashboards up to date in {out_dir}")
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (out_dir / name).write_text(text, encoding="utf-8")
        print(f"wrote {out_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
