"""Ingest the governed corpus into a new index snapshot and report what was quarantined.

The snapshot is published to the shared database; the pointer moves only when the corpus
passes validation, so a bad refresh leaves every replica on the snapshot it serves.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .retrieval import LoadResult, SnapshotStore, load_corpus
from .settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    snapshot_id: str
    previous_id: str | None
    indexed: list[str]
    excluded: list[str]
    quarantined: list[dict[str, str]]
    report_path: Path

    def summary(self) -> str:
        moved = (
            f"now current (was {self.previous_id or 'none'})"
            if self.previous_id != self.snapshot_id
            else "unchanged, already current"
        )
        lines = [
            f"snapshot {self.snapshot_id}: indexed {len(self.indexed)} documents, "
            f"excluded {len(self.excluded)} by classification policy, "
            f"quarantined {len(self.quarantined)}; {moved}"
        ]
        lines += [f"  quarantined {item['path']}: {item['reason']}" for item in self.quarantined]
        lines.append(f"report: {self.report_path}")
        return "\n".join(lines)


class IngestRejectedError(RuntimeError):
    """The corpus failed validation as a whole; the current snapshot was left in place."""


def _validate(loaded: LoadResult, settings: Settings) -> None:
    seen = len(loaded.documents) + len(loaded.excluded) + len(loaded.quarantined)
    if not loaded.documents:
        raise IngestRejectedError(
            f"no valid documents in {settings.corpus_dir} "
            f"({len(loaded.quarantined)} quarantined, {len(loaded.excluded)} excluded)"
        )
    share = len(loaded.quarantined) / seen
    if share > settings.ingest_max_quarantine_ratio:
        raise IngestRejectedError(
            f"{len(loaded.quarantined)} of {seen} documents quarantined "
            f"({round(share * 100)} per cent), above "
            f"INGEST_MAX_QUARANTINE_RATIO={settings.ingest_max_quarantine_ratio:g}"
        )


def ingest(settings: Settings, store: SnapshotStore) -> IngestReport:
    """Load and validate the corpus, publish its snapshot, write a JSON report.

    Raises IngestRejectedError (pointer not moved) when the corpus fails validation."""
    loaded = load_corpus(settings.corpus_dir, list(settings.allowed_classifications))
    for item in loaded.quarantined:
        logger.warning("quarantined %s: %s", item.path, item.reason)
    indexed = [doc.id for doc in loaded.documents]
    excluded = [doc.id for doc in loaded.excluded]
    quarantined = [{"path": str(q.path), "reason": q.reason} for q in loaded.quarantined]
    payload: dict[str, Any] = {
        "indexed": indexed,
        "excluded": excluded,
        "quarantined": quarantined,
    }
    report_path = settings.index_cache_dir / "ingest-report.json"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _validate(loaded, settings)
    except IngestRejectedError as error:
        payload["rejected"] = str(error)
        report_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        raise
    published = store.publish(loaded.documents, payload)
    payload["snapshot_id"] = published.snapshot_id
    report_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return IngestReport(
        snapshot_id=published.snapshot_id,
        previous_id=published.previous_id,
        indexed=indexed,
        excluded=excluded,
        quarantined=quarantined,
        report_path=report_path,
    )


def ensure_snapshot(settings: Settings, store: SnapshotStore) -> None:
    """Seed the store from the bundled corpus when nothing was ever published (first start)."""
    if store.current_id() is None:
        logger.info("no index snapshot published yet; ingesting %s", settings.corpus_dir)
        logger.info(ingest(settings, store).summary())
