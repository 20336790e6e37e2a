"""A search index over the governed corpus in SQLite FTS5 (BM25 ranking, no extra services).

One SQLite file per snapshot. The snapshots themselves live in the shared database
(snapshots.py); each replica materialises the current one into such a file (served.py) and
searches it locally, the same way on one machine and in production. A snapshot id is derived
from the documents' content, so every answer can be traced back to the exact corpus version it
was grounded in. Files are written to a temporary name and swapped in atomically, so a reader
never sees a half-built index.

Search is hybrid: BM25 over the passages (exact words, names, figures) plus the cosine
similarity of static embeddings (meaning: "kid" finds "child"), fused into one ranking. Each
hit also gets a soft term coverage (how much of the question the passage speaks to, near
synonyms counting in part), and the result a calibrated confidence (confidence.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..language import Lexicon
from ..language.embeddings import MODEL_NAME, Vectors, load_embedder
from ..language.terms import stem, words
from ..private_files import create_owner_only
from .confidence import ConfidenceModel
from .corpus import Document

SCHEMA = """
CREATE TABLE documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, owner TEXT NOT NULL,
    classification TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE passages USING fts5(
    doc_id UNINDEXED, title, heading, body, tokenize = 'porter unicode61'
);
CREATE TABLE vectors (passage INTEGER PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE snapshot (
    id TEXT NOT NULL, built_at TEXT NOT NULL, documents INTEGER NOT NULL,
    embedding_model TEXT NOT NULL
);
"""
# Bump when SCHEMA or what is stored changes: replicas then rebuild their local files.
FORMAT = 2

# BM25 candidates considered for fusion; passages beyond them get a lexical score of 0.
LEXICAL_CANDIDATES = 50
# Weight of the embedding similarity in the fused score (the rest is BM25 relative to the best
# match of the query). Chosen on the golden split; equal weights did best there.
DENSE_WEIGHT = 0.5
MAX_PASSAGES_PER_DOC = 2
# In soft coverage, a question word absent from the passage counts by its closest word there,
# but only the part of the cosine similarity above this floor: static word vectors put
# unrelated words at 0.3-0.5 and spelling neighbours ("fever", "fees") higher.
SOFT_MATCH_FLOOR = 0.5


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
    """One retrieved passage: its embedding similarity to the question (-1..1) and the
    IDF-weighted share of the question it covers (0..1, near synonyms counting in part)."""

    doc_id: str
    title: str
    heading: str
    text: str
    similarity: float
    coverage: float


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    snapshot_id: str
    confidence: float = 0.0
    """Calibrated probability that the passages answer the question; compared with
    ABSTAIN_THRESHOLD."""


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
    vectors = load_embedder().embed([_passage_text(p.title, p.heading, p.body) for p in passages])
    temporary = index_path.with_name(f".{index_path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        create_owner_only(temporary)  # 0600 from the start; the rename keeps the mode
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
                "INSERT INTO passages (rowid, doc_id, title, heading, body) VALUES (?, ?, ?, ?, ?)",
                [(n, p.doc_id, p.title, p.heading, p.body) for n, p in enumerate(passages)],
            )
            connection.executemany(
                "INSERT INTO vectors VALUES (?, ?)",
                [(n, vector.astype(np.float16).tobytes()) for n, vector in enumerate(vectors)],
            )
            connection.execute(
                "INSERT INTO snapshot VALUES (?, ?, ?, ?)",
                (snapshot_id, built_at.isoformat(timespec="seconds"), len(documents), MODEL_NAME),
            )
        os.replace(temporary, index_path)
    finally:
        temporary.unlink(missing_ok=True)


def _passage_text(title: str, heading: str, body: str) -> str:
    return f"{title}. {heading}. {_clean(body)}"


def _fts_query(question: str) -> str | None:
    """An OR query of the question's words, quoted so FTS5 syntax in user input is inert."""
    unique = dict.fromkeys(word for word in words(question) if len(word) > 1)
    if not unique:
        return None
    return " OR ".join(f'"{word}"' for word in unique)


@dataclass(frozen=True)
class _Loaded:
    """A snapshot file read into memory once: passage rows, their vectors, and the vocabulary
    (with word vectors and IDF) that soft coverage needs."""

    snapshot_id: str
    passages: list[tuple[str, str, str, str]]
    vectors: Vectors
    passage_terms: list[frozenset[str]]
    passage_words: list[np.ndarray]
    word_vectors: Vectors
    idf: dict[str, float]
    unseen_idf: float


class Index:
    """Read-only access to a built index file."""

    def __init__(
        self, path: Path, confidence: ConfidenceModel | None = None, lexicon: Lexicon | None = None
    ) -> None:
        self.path = path
        self.confidence_model = confidence or ConfidenceModel()
        self.lexicon = lexicon or Lexicon()
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()

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

    def load(self) -> None:
        """Read the file into memory now (materialisation does, so requests never wait)."""
        self._data()

    def _data(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                self._loaded = self._read()
            return self._loaded

    def _read(self) -> _Loaded:
        with self._connect() as connection:
            snapshot = connection.execute("SELECT id, embedding_model FROM snapshot").fetchone()
            if snapshot is None or snapshot[1] != MODEL_NAME:
                raise IndexNotReadyError(f"index {self.path} was built for another format")
            passages = connection.execute(
                "SELECT doc_id, title, heading, body FROM passages ORDER BY rowid"
            ).fetchall()
            blobs = connection.execute("SELECT vector FROM vectors ORDER BY passage").fetchall()
        vectors = np.array(
            [np.frombuffer(blob, dtype=np.float16) for (blob,) in blobs], dtype=np.float32
        ).reshape(len(blobs), -1)
        texts = [f"{title} {heading} {body}" for _, title, heading, body in passages]
        passage_terms = [self.lexicon.terms(text) for text in texts]
        passage_words = [self.lexicon.content_words(text) for text in texts]
        vocabulary = sorted({word for words_of in passage_words for word in words_of})
        position = {word: n for n, word in enumerate(vocabulary)}
        document_frequency = Counter(term for found in passage_terms for term in found)
        total = len(texts) + 1
        return _Loaded(
            snapshot_id=str(snapshot[0]),
            passages=[tuple(row) for row in passages],
            vectors=vectors,
            passage_terms=passage_terms,
            passage_words=[
                np.array([position[word] for word in words_of], dtype=np.int64)
                for words_of in passage_words
            ],
            word_vectors=load_embedder().embed(vocabulary),
            idf={term: math.log(1 + total / (1 + df)) for term, df in document_frequency.items()},
            unseen_idf=math.log(1 + total),
        )

    def search(self, question: str, top_k: int) -> SearchResult:
        """The top_k passages by fused BM25 and embedding score, diversified across documents,
        with a calibrated confidence that they answer the question."""
        data = self._data()
        # Memoised: the embedded model reuses this analysis of the same question.
        analysis = self.lexicon.analyse(question)
        question = analysis.text
        query = _fts_query(question)
        if query is None:
            return SearchResult([], data.snapshot_id)
        with self._connect() as connection:
            lexical = dict(
                connection.execute(
                    "SELECT rowid, -bm25(passages, 0.0, 4.0, 2.0, 1.0) FROM passages "
                    "WHERE passages MATCH ? ORDER BY bm25(passages, 0.0, 4.0, 2.0, 1.0) LIMIT ?",
                    (query, LEXICAL_CANDIDATES),
                ).fetchall()
            )
        embedder = load_embedder()
        similarity = data.vectors @ embedder.embed([question])[0]
        best_lexical = max(lexical.values(), default=0.0) or 1.0
        fused = DENSE_WEIGHT * similarity
        for row, score in lexical.items():
            fused[row] += (1 - DENSE_WEIGHT) * score / best_lexical
        order = np.argsort(-fused)
        ranked = _diversify([data.passages[n][0] for n in order], top_k)
        chosen = [int(order[position]) for position in ranked]
        wanted = analysis.content_words
        wanted_vectors = embedder.embed(list(wanted))
        hits = []
        for n in chosen:
            doc_id, title, heading, body = data.passages[n]
            coverage = _soft_coverage(wanted, wanted_vectors, n, data)
            hits.append(
                Hit(doc_id, title, heading, _clean(body), round(float(similarity[n]), 4), coverage)
            )
        confidence = self.confidence_model.probability(
            coverage=max((hit.coverage for hit in hits), default=0.0),
            similarity=float(similarity.max()) if len(similarity) else 0.0,
        )
        return SearchResult(hits, data.snapshot_id, confidence)


def _soft_coverage(
    wanted: tuple[str, ...], wanted_vectors: Vectors, passage: int, data: _Loaded
) -> float:
    """IDF-weighted share of the question's content words found in the passage: 1 for the
    same stem, else the part of the closest passage word's similarity above SOFT_MATCH_FLOOR."""
    if not wanted:
        return 0.0
    present = data.passage_terms[passage]
    closest = (wanted_vectors @ data.word_vectors[data.passage_words[passage]].T).max(
        axis=1, initial=0.0
    )
    covered = total = 0.0
    for word, nearest in zip(wanted, closest, strict=True):
        term = stem(word)
        weight = data.idf.get(term, data.unseen_idf)
        total += weight
        if term in present:
            covered += weight
        else:
            covered += weight * max(0.0, float(nearest) - SOFT_MATCH_FLOOR) / (1 - SOFT_MATCH_FLOOR)
    return round(covered / total, 4)


def _diversify(ranked_doc_ids: list[str], top_k: int) -> list[int]:
    """Positions of the first top_k passages in rank order, at most MAX_PASSAGES_PER_DOC per
    document, so a question that spans two documents gets passages from both instead of four
    sections of one."""
    chosen: list[int] = []
    per_doc: Counter[str] = Counter()
    for position, doc_id in enumerate(ranked_doc_ids):
        if per_doc[doc_id] < MAX_PASSAGES_PER_DOC:
            chosen.append(position)
            per_doc[doc_id] += 1
        if len(chosen) == top_k:
            break
    return chosen


def _clean(markdown: str) -> str:
    """Passage text without list markers and emphasis, on one line per paragraph."""
    text = re.sub(r"^\s*[-*]\s+", "", markdown, flags=re.MULTILINE)
    return re.sub(r"[*_`]", "", text).strip()
