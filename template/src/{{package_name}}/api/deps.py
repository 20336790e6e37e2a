"""What a route may depend on, as FastAPI `Annotated` dependencies.

Settings and metrics exist from the moment the app is created (middleware uses them); the
services (services.py) exist once start-up has finished, so a request that arrives earlier gets
503 `not_ready` instead of an AttributeError.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..ledger import Ledger
from ..pipeline import AskPipeline
from ..services import Services
from ..settings import Settings
from ..telemetry import Metrics
from .errors import ApiError


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_services(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise ApiError("not_ready", "the service is still starting")
    return services


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ServicesDep = Annotated[Services, Depends(get_services)]


def get_pipeline(services: ServicesDep) -> AskPipeline:
    return services.pipeline


def get_ledger(services: ServicesDep) -> Ledger:
    return services.ledger


PipelineDep = Annotated[AskPipeline, Depends(get_pipeline)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
