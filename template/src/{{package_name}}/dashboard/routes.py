"""`GET /dashboard` (the page, open: it holds no data) and `GET /dashboard/data` (API key)."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import re
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import SQLAlchemyError

from ..api.auth import require_api_key
from ..api.deps import ServicesDep
from ..api.errors import ApiError
from ..api.schemas import ErrorResponse
from .queries import dashboard_data
from .schemas import DashboardData, Window

dashboard = APIRouter(tags=["dashboard"])

SERVICE_PLACEHOLDER = "__SERVICE_NAME__"
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@functools.cache
def _page(service: str) -> tuple[str, str]:
    """The page with the service name filled in, and its Content-Security-Policy.

    The policy lets the browser load nothing but this page's own inline script (pinned by its
    hash), its inline styles and `/dashboard/data`: no CDN, font or image can sneak in.
    """
    page = resources.files(__package__ or __name__).joinpath("page.html")
    text = page.read_text(encoding="utf-8").replace(SERVICE_PLACEHOLDER, html.escape(service))
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _SCRIPT.findall(text)
    )
    policy = (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return text, policy


@dashboard.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def page(request: Request) -> HTMLResponse:
    """The dashboard page. Public: it holds no figures and asks for the API key itself."""
    text, policy = _page(request.app.title)
    return HTMLResponse(
        text,
        headers={
            "Content-Security-Policy": policy,
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


@dashboard.get(
    "/dashboard/data",
    response_model=DashboardData,
    summary="Dashboard figures for a time window",
    dependencies=[Depends(require_api_key)],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
        422: {"model": ErrorResponse, "description": "Unknown window"},
        503: {"model": ErrorResponse, "description": "Ledger unavailable or service starting"},
    },
)
def data(
    request: Request,
    response: Response,
    services: ServicesDep,
    window: Annotated[
        Window, Query(description="Time window ending now: 1h, 24h, 7d or 30d")
    ] = "24h",
) -> DashboardData:
    """Cost per successful outcome, cost, traffic by outcome, rates, latency, tokens, feedback,
    a time series and drift scores, from the ledger. Needs the API key, like `/v1/*`."""
    response.headers["Cache-Control"] = "no-store"
    settings = services.settings
    try:
        return dashboard_data(
            services.ledger,
            window,
            service=request.app.title,
            daily_budget_usd=settings.daily_budget_usd,
            budget_enforcement=settings.budget_enforcement,
        )
    except SQLAlchemyError as error:
        raise ApiError(
            "ledger_unavailable", f"cannot read the ledger: {type(error).__name__}"
        ) from error
