"""A search index over the governed corpus in SQLite FTS5 (BM25 ranking, no extra services).

One SQLite file per snapshot. The snapshots themselves live in the shared database
(snapshots.py); each replica materialises the current one into such a file (served.py) and
searches it locally, the same way on one machine and in production. A snapshot id is derived
from the documents' content, so every answer can be traced back to the exact corpus version it
was grounded in. Files are written to a temporary name and swapped in atomically, so a reader
never sees a half-built index.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .corpus import Document
from .terms import terms, words

SCHEMA = """
CREATE TABLE documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, owner TEXT NOT NULL,
    classification TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE passages USING fts5(
    doc_id UNINDEXED, title, heading, body, tokenize = 'porter unicode61'
);
CREATE TABLE snapshot (id TEXT NOT NULL, built_at TEXT NOT NULL, documents INTEGER NOT NULL);
"""


# Fetch this many candidates per result slot, then diversify across documents.
CANDIDATES_PER_SLOT = 3
MAX_PASSAGES_PER_DOC = 2


class IndexNotReadyError(RuntimeError):
    """The index file is missing or unreadable."""


@dataclass(frozen=True)
class Passage:
    doc_id: str
    title: str
    heading: str
    body: str


@dataclass(frozen=True)
class Hit:
    """One retrieved passage, with the share of the question's terms it covers (0..1)."""

    doc_id: str
    title: str
    heading: str
    text: str
    coverage: float


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    snapshot_id: str

    @property
    def confidence(self) -> float:
        """How well the best passage covers the question; compared with ABSTAIN_THRESHOLD."""
        return max((hit.coverage for hit in self.hits), default=0.0)


def split_passages(document: Document) -> Iterator[Passage]:
    """One passage per `##` section; text before the first heading is the document's intro."""
    heading = "Overview"
    lines: list[str] = []
    for line in document.body.splitlines():
        if line.startswith("#"):
            if any(part.strip() for part in lines):
                yield Passage(document.id, document.title, heading, "\n".join(lines).strip())
            heading, lines = line.lstrip("#").strip(), []
        else:
            lines.append(line)
    if any(part.strip() for part in lines):
        yield Passage(document.id, document.title, heading, "\n".join(lines).strip())


def snapshot_id_for(documents: Iterable[Document]) -> str:
    """A content hash of the indexed documents: same corpus, same id."""
    digest = hashlib.sha256()
    for document in sorted(documents, key=lambda doc: doc.id):
        for part in (document.id, document.title, document.classification, document.body):
            digest.update(part.encode())
            digest.update(b"\0")
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class DocumentRow:
    """What the index keeps about a document (its body lives in the passages)."""

    id: str
    title: str
    owner: str
    classification: str
    updated_at: dt.date


def build_index(documents: list[Document], index_path: Path) -> str:
    """Build an index file from documents, atomically, and return its snapshot id."""
    snapshot_id = snapshot_id_for(documents)
    write_index(
        index_path,
        snapshot_id,
        dt.datetime.now(dt.UTC),
        [DocumentRow(d.id, d.title, d.owner, d.classification, d.updated_at) for d in documents],
        [passage for doc in documents for passage in split_passages(doc)],
    )
    return snapshot_id


def write_index(
    index_path: Path,
    snapshot_id: str,
    built_at: dt.datetime,
    documents: list[DocumentRow],
    passages: list[Passage],
) -> None:
    """Write a search file for one snapshot to a temporary name, then swap it in atomically:
    a reader never sees a half-built file."""
    index_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = index_path.with_name(f".{index_path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with closing(sqlite3.connect(temporary)) as connection, connection:
            connection.executescript(SCHEMA)
            connection.executemany(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?)",
                [
                    (doc.id, doc.title, doc.owner, doc.classification, doc.updated_at.isoformat())
                    for doc in documents
                ],
            )
            connection.executemany(
                "INSERT INTO passages (doc_id, title, heading, body) VALUES (?, ?, ?, ?)",
                [(p.doc_id, p.title, p.heading, p.body) for p in passages],
            )
            connection.execute(
                "INSERT INTO snapshot VALUES (?, ?, ?)",
                (snapshot_id, built_at.isoformat(timespec="seconds"), len(documents)),
            )
        os.replace(temporary, index_path)
    finally:
        temporary.unlink(missing_ok=True)


def _fts_query(question: str) -> str | None:
    """An OR query of the question's words, quoted so FTS5 syntax in user input is inert."""
    unique = dict.fromkeys(word for word in words(question) if len(word) > 1)
    if not unique:
        return None
    return " OR ".join(f'"{word}"' for word in unique)


class Index:
    """Read-only access to a built index file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self.path.is_file():
            raise IndexNotReadyError(f"index {self.path} does not exist; run `make ingest`")
        try:
            connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        except sqlite3.Error as error:
            raise IndexNotReadyError(f"cannot open index {self.path}: {error}") from error
        try:
            yield connection
        except sqlite3.DatabaseError as error:
            raise IndexNotReadyError(f"index {self.path} is unreadable: {error}") from error
        finally:
            connection.close()

    def snapshot(self) -> tuple[str, str, int]:
        """(snapshot id, built at ISO time, document count)."""
        with self._connect() as connection:
            row = connection.execute("SELECT id, built_at, documents FROM snapshot").fetchone()
        if row is None:
            raise IndexNotReadyError(f"index {self.path} has no snapshot row")
        return str(row[0]), str(row[1]), int(row[2])

    def search(self, question: str, top_k: int) -> SearchResult:
        """The top_k passages by BM25, each scored by how much of the question it covers."""
        query = _fts_query(question)
        with self._connect() as connection:
            snapshot_id = connection.execute("SELECT id FROM snapshot").fetchone()[0]
            if query is None:
                return SearchResult([], snapshot_id)
            ranked = connection.execute(
                "SELECT doc_id, title, heading, body FROM passages WHERE passages MATCH ? "
                "ORDER BY bm25(passages, 0.0, 4.0, 2.0, 1.0) LIMIT ?",
                (query, top_k * CANDIDATES_PER_SLOT),
            ).fetchall()
        rows = _diversify(ranked, top_k)
        question_terms = terms(question)
        hits = []
        for doc_id, title, heading, body in rows:
            covered = question_terms & terms(f"{title} {heading} {body}")
            coverage = len(covered) / len(question_terms) if question_terms else 0.0
            hits.append(Hit(doc_id, title, heading, _clean(body), round(coverage, 3)))
        return SearchResult(hits, snapshot_id)


def _diversify(
    ranked: list[tuple[str, str, str, str]], top_k: int
) -> list[tuple[str, str, str, str]]:
    """Keep BM25 order but at most MAX_PASSAGES_PER_DOC per document, so a question that spans
    two documents gets passages from both instead of four sections of one."""
    chosen: list[tuple[str, str, str, str]] = []
    per_doc: dict[str, int] = {}
    for row in ranked:
        if per_doc.get(row[0], 0) < MAX_PASSAGES_PER_DOC:
            chosen.append(row)
            per_doc[row[0]] = per_doc.get(row[0], 0) + 1
        if len(chosen) == top_k:
            break
    return chosen


def _clean(markdown: str) -> str:
    """Passage text without list markers and emphasis, on one line per paragraph."""
    text = re.sub(r"^\s*[-*]\s+", "", markdown, flags=re.MULTILINE)
    return re.sub(r"[*_`]", "", text).strip()
