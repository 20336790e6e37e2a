"""Index snapshots in the shared database: immutable, one set of rows per snapshot id.

`index_current` holds one row, the pointer every replica follows. Publishing a snapshot and
moving the pointer happen in one transaction; replicas materialise the snapshot the pointer
names into a local search file (see snapshots.py and served.py).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, Table, Text

from ..db.metadata import metadata


def _of_snapshot() -> Column[str]:
    """The key column of a snapshot's rows: deleting the snapshot deletes them."""
    return Column(
        "snapshot_id",
        String(32),
        ForeignKey("index_snapshots.snapshot_id", ondelete="CASCADE"),
        primary_key=True,
    )


index_snapshots = Table(
    "index_snapshots",
    metadata,
    Column("snapshot_id", String(32), primary_key=True, doc="content hash of the documents"),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("documents", Integer, nullable=False),
    Column("passages", Integer, nullable=False),
    Column("report", Text, nullable=False, doc="ingest report (JSON): excluded, quarantined"),
)

index_documents = Table(
    "index_documents",
    metadata,
    _of_snapshot(),
    Column("doc_id", String(64), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("classification", String(32), nullable=False),
    Column("updated_at", Date, nullable=False),
)

index_passages = Table(
    "index_passages",
    metadata,
    _of_snapshot(),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("doc_id", String(64), nullable=False),
    Column("title", String(300), nullable=False),
    Column("heading", String(300), nullable=False),
    Column("body", Text, nullable=False),
)

index_current = Table(
    "index_current",
    metadata,
    Column("slot", String(16), primary_key=True, doc="always 'current'"),
    Column(
        "snapshot_id",
        String(32),
        ForeignKey("index_snapshots.snapshot_id"),
        nullable=False,
    ),
    Column("moved_at", DateTime(timezone=True), nullable=False),
)
