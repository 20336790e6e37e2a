"""`GET /dashboard` (the page, open: it holds no data) and `GET /dashboard/data` (API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import SQLAlchemyError

from ..dashboard import DashboardData, Window, dashboard_data, render_page
from .auth import require_api_key
from .deps import ServicesDep
from .errors import ApiError
from .schemas import ErrorResponse

dashboard = APIRouter(tags=["dashboard"])


@dashboard.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def page(request: Request) -> HTMLResponse:
    """The dashboard page. Public: it holds no figures and asks for the API key itself."""
    text, policy = render_page(request.app.title)
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
