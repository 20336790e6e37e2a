"""Governed corpus loading, index building and search."""

from .corpus import Document, LoadResult, Quarantined, load_corpus
from .index import Hit, Index, IndexNotReadyError, SearchResult, build_index

__all__ = [
    "Document",
    "Hit",
    "Index",
    "IndexNotReadyError",
    "LoadResult",
    "Quarantined",
    "SearchResult",
    "build_index",
    "load_corpus",
]
