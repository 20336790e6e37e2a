"""The composition root: every shared object of the running service, built once at start-up.

`build_services` is the one place that decides how the parts fit together (which store the
ledger writes to, which index the pipeline searches, which model it calls). Routes receive what
they need through the dependencies in api/deps.py; nothing else reaches into app state.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from . import maintenance
from .costs import PriceTable
from .db import ensure_schema, make_engine
from .ingest import ensure_snapshot
from .language import Lexicon
from .ledger import Ledger
from .limits import Limits
from .models import Generator, build_model
from .pipeline import AskPipeline
from .retrieval import ServedIndex, SnapshotStore
from .retrieval.confidence import ConfidenceModel
from .settings import Settings
from .shutdown import Shutdown
from .telemetry import Metrics


@dataclass(frozen=True)
class Services:
    settings: Settings
    metrics: Metrics
    shutdown: Shutdown
    engine: Engine
    ledger: Ledger
    index: ServedIndex
    generator: Generator
    limits: Limits
    pipeline: AskPipeline


def build_services(settings: Settings, metrics: Metrics, shutdown: Shutdown) -> Services:
    """Connect, check the schema, make sure a snapshot is served, and wire the request path.

    Blocking (database and file I/O): the app runs it in a worker thread at start-up. Refuses
    to start on a schema older than the code, unless APP_ENV allows migrating."""
    engine = make_engine(settings.database_url)
    ensure_schema(engine, auto_migrate=settings.auto_migrate)
    ledger = Ledger(engine, question_retention_days=settings.question_retention_days)
    snapshots = SnapshotStore(engine, retention=settings.snapshot_retention)
    ensure_snapshot(settings, snapshots)
    # One lexicon for retrieval and the embedded model: they agree on terms and synonyms.
    lexicon = Lexicon.load(settings.synonyms_path, settings.stop_words_path)
    index = ServedIndex(
        snapshots,
        settings.index_cache_dir,
        ConfidenceModel.load(settings.confidence_path),
        lexicon,
    )
    maintenance.tick(index, ledger, metrics)
    generator = Generator(
        build_model(settings, lexicon),
        timeout_seconds=settings.model_timeout_seconds,
        max_retries=settings.model_max_retries,
        deadline_seconds=settings.model_deadline_seconds,
        max_output_tokens=settings.model_max_output_tokens,
    )
    limits = Limits(settings, ledger, metrics=metrics)
    pipeline = AskPipeline(
        settings,
        index,
        generator,
        ledger,
        metrics=metrics,
        prices=PriceTable.load(settings.prices_path),
        shutdown=shutdown,
        limits=limits,
    )
    return Services(settings, metrics, shutdown, engine, ledger, index, generator, limits, pipeline)
