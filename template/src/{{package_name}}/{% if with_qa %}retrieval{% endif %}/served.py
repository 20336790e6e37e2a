"""The index a replica serves: the snapshot the shared pointer names, cached as a local file.

`refresh()` reads the pointer and, when it moved, materialises the new snapshot into
INDEX_CACHE_DIR before switching to it, so searches never wait for the database and keep
working from the last snapshot while the database is down. The app calls `refresh()` every
SNAPSHOT_POLL_SECONDS: every replica serves a newly published snapshot within one interval.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..language import Lexicon
from .confidence import ConfidenceModel
from .index import FORMAT, Index, IndexNotReadyError, SearchResult
from .snapshots import SnapshotStore

logger = logging.getLogger(__name__)

CACHED_FILES_KEPT = 3


class ServedIndex:
    def __init__(
        self,
        store: SnapshotStore,
        cache_dir: Path,
        confidence: ConfidenceModel | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.store = store
        self.cache_dir = cache_dir
        self.confidence = confidence or ConfidenceModel()
        self.lexicon = lexicon or Lexicon()
        self._index: Index | None = None
        self._snapshot_id: str | None = None
        self._lock = threading.Lock()

    @property
    def snapshot_id(self) -> str | None:
        return self._snapshot_id

    def refresh(self) -> bool:
        """Follow the pointer; True when the served snapshot changed. Raises on database errors
        (the caller keeps serving the previous snapshot)."""
        current = self.store.current_id()
        if current is None or self._serving(current):
            return False
        with self._lock:  # one materialisation at a time per replica
            if self._serving(current):
                return False
            # The format is in the name: files an older release cached are rebuilt, not misread.
            path = self.cache_dir / f"{current}.v{FORMAT}.sqlite"
            if not path.is_file():
                self.store.materialise(current, path)
            index = Index(path, self.confidence, self.lexicon)
            index.load()  # read and embed now, so no request waits for it
            previous = self._snapshot_id
            self._index, self._snapshot_id = index, current
            self._prune_cache(keep=path)
        logger.info("serving index snapshot %s (was %s)", current, previous or "none")
        return True

    def _serving(self, snapshot_id: str) -> bool:
        """Already serving it, from a cache file that still exists."""
        index = self._index
        return index is not None and self._snapshot_id == snapshot_id and index.path.is_file()

    def _prune_cache(self, keep: Path) -> None:
        files = sorted(self.cache_dir.glob("*.sqlite"), key=lambda p: p.stat().st_mtime)
        for stale in [path for path in files if path != keep][: -CACHED_FILES_KEPT + 1 or None]:
            stale.unlink(missing_ok=True)

    def _served(self) -> Index:
        index = self._index
        if index is None:
            raise IndexNotReadyError("no index snapshot has been published yet; run `make ingest`")
        return index

    def snapshot(self) -> tuple[str, str, int]:
        """(snapshot id, built at ISO time, document count) of the served snapshot."""
        return self._served().snapshot()

    def search(self, question: str, top_k: int) -> SearchResult:
        return self._served().search(question, top_k)
