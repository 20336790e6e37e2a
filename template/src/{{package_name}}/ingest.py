"""Ingest the governed corpus into a new index snapshot and report what was quarantined."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from .retrieval import Index, IndexNotReadyError, LoadResult, build_index, load_corpus
from .settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    snapshot_id: str
    indexed: list[str]
    excluded: list[str]
    quarantined: list[dict[str, str]]
    report_path: Path

    def summary(self) -> str:
        lines = [
            f"snapshot {self.snapshot_id}: indexed {len(self.indexed)} documents, "
            f"excluded {len(self.excluded)} by classification policy, "
            f"quarantined {len(self.quarantined)}"
        ]
        lines += [f"  quarantined {item['path']}: {item['reason']}" for item in self.quarantined]
        lines.append(f"report: {self.report_path}")
        return "\n".join(lines)


class EmptyCorpusError(RuntimeError):
    """Nothing indexable was found; building an empty index would only hide the problem."""


def ingest(settings: Settings) -> IngestReport:
    """Load, validate and index the corpus; write a JSON report next to the index."""
    loaded: LoadResult = load_corpus(settings.corpus_dir, list(settings.allowed_classifications))
    if not loaded.documents:
        raise EmptyCorpusError(
            f"no valid documents in {settings.corpus_dir} "
            f"({len(loaded.quarantined)} quarantined, {len(loaded.excluded)} excluded)"
        )
    snapshot_id = build_index(loaded.documents, settings.index_path)
    report_path = settings.index_path.with_name("ingest-report.json")
    report = IngestReport(
        snapshot_id=snapshot_id,
        indexed=[doc.id for doc in loaded.documents],
        excluded=[doc.id for doc in loaded.excluded],
        quarantined=[{"path": str(q.path), "reason": q.reason} for q in loaded.quarantined],
        report_path=report_path,
    )
    payload = {
        "snapshot_id": report.snapshot_id,
        "indexed": report.indexed,
        "excluded": report.excluded,
        "quarantined": report.quarantined,
    }
    report_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    for item in report.quarantined:
        logger.warning("quarantined %s: %s", item["path"], item["reason"])
    return report


def ensure_index(settings: Settings) -> None:
    """Build the index at start-up only when there is none (or it is unreadable)."""
    try:
        Index(settings.index_path).snapshot()
    except IndexNotReadyError:
        logger.info("no usable index at %s; ingesting %s", settings.index_path, settings.corpus_dir)
        logger.info(ingest(settings).summary())
