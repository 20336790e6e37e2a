"""Governed corpus loading, index snapshots (shared store + local search files) and search."""

from .corpus import Document, LoadResult, Quarantined, load_corpus
from .index import Hit, Index, IndexNotReadyError, SearchResult, build_index
from .served import ServedIndex
from .snapshots import SnapshotStore, UnknownSnapshotError

__all__ = [
    "Document",
    "Hit",
    "Index",
    "IndexNotReadyError",
    "LoadResult",
    "Quarantined",
    "SearchResult",
    "ServedIndex",
    "SnapshotStore",
    "UnknownSnapshotError",
    "build_index",
    "load_corpus",
]
