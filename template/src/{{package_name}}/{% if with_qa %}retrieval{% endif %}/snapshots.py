"""Index snapshots in the shared database: publish, follow the pointer, list, roll back.

A snapshot is immutable: its id is the content hash of its documents, so publishing the same
corpus twice moves the pointer to the snapshot that already exists. Publishing inserts the
rows, moves the pointer and prunes old snapshots in one transaction: a replica reads either the
old pointer or the new one, never a half-published snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..db.timestamps import as_utc
from .corpus import Document
from .index import DocumentRow, Passage, snapshot_id_for, split_passages, write_index
from .tables import index_current, index_documents, index_passages, index_snapshots

POINTER = "current"


class UnknownSnapshotError(LookupError):
    """No snapshot with that id is kept in the store."""


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: str
    created_at: dt.datetime
    documents: int
    passages: int
    current: bool

    def line(self) -> str:
        marker = "*" if self.current else " "
        created = self.created_at.strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"{marker} {self.snapshot_id}  {created}  "
            f"{self.documents:>4} documents  {self.passages:>5} passages"
        )


@dataclass(frozen=True)
class Published:
    snapshot_id: str
    previous_id: str | None
    new: bool  # False: the same content was already stored; only the pointer moved


class SnapshotStore:
    def __init__(self, engine: Engine, *, retention: int = 5) -> None:
        self.engine = engine
        self.retention = retention

    def current_id(self) -> str | None:
        with self.engine.connect() as connection:
            return self._current_id(connection)

    @staticmethod
    def _current_id(connection: Connection) -> str | None:
        query = select(index_current.c.snapshot_id).where(index_current.c.slot == POINTER)
        return connection.execute(query).scalar_one_or_none()

    def publish(self, documents: list[Document], report: dict[str, Any]) -> Published:
        """Store the snapshot of `documents` (if new), point at it, prune beyond retention."""
        snapshot_id = snapshot_id_for(documents)
        try:
            return self._publish(snapshot_id, documents, report)
        except IntegrityError:
            # Another publisher stored the same content first (e.g. two pods seeding at once).
            return self._publish(snapshot_id, documents, report)

    def _publish(
        self, snapshot_id: str, documents: list[Document], report: dict[str, Any]
    ) -> Published:
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as connection:
            previous = self._current_id(connection)
            exists = connection.execute(
                select(index_snapshots.c.snapshot_id).where(
                    index_snapshots.c.snapshot_id == snapshot_id
                )
            ).first()
            if exists is None:
                passages = [p for doc in documents for p in split_passages(doc)]
                connection.execute(
                    insert(index_snapshots).values(
                        snapshot_id=snapshot_id,
                        created_at=now,
                        documents=len(documents),
                        passages=len(passages),
                        report=json.dumps(report, sort_keys=True),
                    )
                )
                connection.execute(
                    insert(index_documents),
                    [
                        {
                            "snapshot_id": snapshot_id,
                            "doc_id": doc.id,
                            "title": doc.title,
                            "owner": doc.owner,
                            "classification": doc.classification,
                            "updated_at": doc.updated_at,
                        }
                        for doc in documents
                    ],
                )
                connection.execute(
                    insert(index_passages),
                    [
                        {
                            "snapshot_id": snapshot_id,
                            "position": position,
                            "doc_id": p.doc_id,
                            "title": p.title,
                            "heading": p.heading,
                            "body": p.body,
                        }
                        for position, p in enumerate(passages)
                    ],
                )
            self._point(connection, snapshot_id, now)
            self._prune(connection)
        return Published(snapshot_id, previous, new=exists is None)

    def _point(self, connection: Connection, snapshot_id: str, now: dt.datetime) -> None:
        moved = connection.execute(
            update(index_current)
            .where(index_current.c.slot == POINTER)
            .values(snapshot_id=snapshot_id, moved_at=now)
        )
        if moved.rowcount == 0:
            connection.execute(
                insert(index_current).values(slot=POINTER, snapshot_id=snapshot_id, moved_at=now)
            )

    def _prune(self, connection: Connection) -> None:
        """Keep the newest `retention` snapshots (and always the current one)."""
        current = self._current_id(connection)
        ids = connection.execute(
            select(index_snapshots.c.snapshot_id).order_by(index_snapshots.c.created_at.desc())
        ).scalars()
        doomed = [sid for n, sid in enumerate(ids) if n >= self.retention and sid != current]
        if doomed:
            for table in (index_passages, index_documents, index_snapshots):
                connection.execute(delete(table).where(table.c.snapshot_id.in_(doomed)))

    def list(self) -> list[SnapshotInfo]:
        """Kept snapshots, newest first."""
        with self.engine.connect() as connection:
            current = self._current_id(connection)
            rows = connection.execute(
                select(
                    index_snapshots.c.snapshot_id,
                    index_snapshots.c.created_at,
                    index_snapshots.c.documents,
                    index_snapshots.c.passages,
                ).order_by(index_snapshots.c.created_at.desc())
            ).all()
        return [
            SnapshotInfo(sid, as_utc(created), docs, passages, sid == current)
            for sid, created, docs, passages in rows
        ]

    def rollback(self, to: str | None = None) -> tuple[str, str]:
        """Point at snapshot `to` (default: the one published before the current one).

        Returns (from, to). Raises UnknownSnapshotError when there is nothing to go back to."""
        kept = self.list()
        current = next((info for info in kept if info.current), None)
        if to is None:
            older = [info for info in kept if current and info.created_at < current.created_at]
            if not older:
                raise UnknownSnapshotError("no earlier snapshot is kept to roll back to")
            to = older[0].snapshot_id
        elif to not in {info.snapshot_id for info in kept}:
            known = ", ".join(info.snapshot_id for info in kept) or "none"
            raise UnknownSnapshotError(f"snapshot {to} is not kept (kept: {known})")
        with self.engine.begin() as connection:
            self._point(connection, to, dt.datetime.now(dt.UTC))
        return (current.snapshot_id if current else "none", to)

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(index_snapshots)).scalar_one()
            )

    def materialise(self, snapshot_id: str, path: Path) -> None:
        """Write snapshot `snapshot_id` into a local search file at `path`."""
        with self.engine.connect() as connection:
            meta = connection.execute(
                select(index_snapshots.c.created_at).where(
                    index_snapshots.c.snapshot_id == snapshot_id
                )
            ).first()
            if meta is None:
                raise UnknownSnapshotError(f"snapshot {snapshot_id} is not in the store")
            documents = [
                DocumentRow(*row)
                for row in connection.execute(
                    select(
                        index_documents.c.doc_id,
                        index_documents.c.title,
                        index_documents.c.owner,
                        index_documents.c.classification,
                        index_documents.c.updated_at,
                    )
                    .where(index_documents.c.snapshot_id == snapshot_id)
                    .order_by(index_documents.c.doc_id)
                )
            ]
            passages = [
                Passage(*row)
                for row in connection.execute(
                    select(
                        index_passages.c.doc_id,
                        index_passages.c.title,
                        index_passages.c.heading,
                        index_passages.c.body,
                    )
                    .where(index_passages.c.snapshot_id == snapshot_id)
                    .order_by(index_passages.c.position)
                )
            ]
        write_index(path, snapshot_id, as_utc(meta[0]), documents, passages)
