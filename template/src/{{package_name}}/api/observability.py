"""/metrics for Prometheus, and the middleware that times every HTTP request."""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..settings import Settings
from ..telemetry import Metrics
from .deps import MetricsDep, SettingsDep
from .errors import ApiError

observability = APIRouter(tags=["observability"])


def _require_metrics_token(request: Request, settings: Settings) -> None:
    """401 unless `Authorization: Bearer <METRICS_TOKEN>`; open when no token is configured
    (development only: staging and production refuse to start without one). API keys do not
    open /metrics: the scraper's secret is separate from the callers'."""
    token = settings.metrics_token
    if token is None:
        return
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        presented.strip().encode(), expected
    ):
        raise ApiError(
            "metrics_unauthorized",
            "send the METRICS_TOKEN as Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )


@observability.get("/metrics", include_in_schema=False)
def metrics(request: Request, settings: SettingsDep, registry_metrics: MetricsDep) -> Response:
    """Prometheus exposition: no ids, no content, low-cardinality labels, but spend, budget and
    traffic figures, so it needs METRICS_TOKEN when one is set.

    Never touches the database: figures that come from it (drift, index age) are refreshed by
    the app's background maintenance, so a scrape answers even while the database is down."""
    _require_metrics_token(request, settings)
    return Response(generate_latest(registry_metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _route_template(scope: Scope) -> str:
    """The matched route's path template ("/v1/ask"), never the raw path: bounded cardinality.
    The router records the matched route in the scope."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched")) if route is not None else "unmatched"


class RequestMetricsMiddleware:
    """Observe http_server_request_duration_seconds for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture_status)
        finally:
            self.metrics.http_duration.labels(
                scope["method"], _route_template(scope), str(status)
            ).observe(time.perf_counter() - started)
