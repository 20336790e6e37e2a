"""Background upkeep of one replica, every SNAPSHOT_POLL_SECONDS: follow the shared snapshot
pointer, refresh the figures /metrics exports from the database (drift, index age), and purge
question texts older than QUESTION_RETENTION_DAYS (bounded batches; every replica may purge).

Nothing here is on the request path, and a database outage only means stale figures and the
last snapshot served until it is back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from starlette.concurrency import run_in_threadpool

from .drift import drift_scores
from .ledger import Ledger
from .retrieval import IndexNotReadyError, ServedIndex
from .telemetry import Metrics

logger = logging.getLogger(__name__)


def update_index_figures(index: ServedIndex, metrics: Metrics) -> None:
    try:
        _, built_at, documents = index.snapshot()
    except IndexNotReadyError:
        metrics.index_documents.set(0)
        return
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(built_at)
    metrics.index_age.set(age.total_seconds())
    metrics.index_documents.set(documents)


def update_drift(ledger: Ledger, metrics: Metrics) -> None:
    # Exported once there is enough traffic to compare; absent (not zero) before that.
    for feature, score in drift_scores(ledger).items():
        if score is not None:
            metrics.drift.labels(feature).set(score)


def tick(index: ServedIndex, ledger: Ledger, metrics: Metrics) -> None:
    """One round; each part fails alone and says so in the log."""
    try:
        index.refresh()
    except Exception as error:  # the database is down or the snapshot unreadable: keep serving
        metrics.index_refresh_failures.inc()
        logger.warning("cannot follow the index snapshot pointer: %s", error)
    update_index_figures(index, metrics)
    try:
        update_drift(ledger, metrics)
    except Exception as error:
        logger.warning("cannot compute drift from the ledger: %s", type(error).__name__)
    try:
        purged = ledger.purge_question_texts()
    except Exception as error:
        logger.warning("cannot purge expired question texts: %s", type(error).__name__)
    else:
        if purged:
            logger.debug("purged %d question texts past QUESTION_RETENTION_DAYS", purged)


async def run_forever(
    index: ServedIndex, ledger: Ledger, metrics: Metrics, interval_seconds: float
) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        await run_in_threadpool(tick, index, ledger, metrics)
