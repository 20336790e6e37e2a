"""The human review queue: extractions waiting for a person, and the corrections they make.

Rows are written with their request (Ledger.record_request, one transaction); this module
reads the queue and records a review. Values are stored as the pipeline hands them over:
personal fields already masked, so nothing here ever holds a full name or account number.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from .store import LedgerUnavailableError, UnknownRequestError
from .tables import corrections, extractions

# A reviewer's verdict on an item: its fields were changed, or it was right as extracted.
REVIEWED = ("corrected", "confirmed")


class AlreadyReviewedError(ValueError):
    """The item has had its review (one per item: a second would overwrite the first)."""


@dataclass(frozen=True)
class ReviewItem:
    request_id: str
    created_at: dt.datetime
    status: str
    record: dict[str, Any]
    confidence: dict[str, float]
    problems: dict[str, str]
    reviewed_at: dt.datetime | None


@dataclass(frozen=True)
class Correction:
    field: str
    old_value: str | None
    new_value: str | None


def _item(row: Any) -> ReviewItem:
    return ReviewItem(
        request_id=row.request_id,
        created_at=row.created_at,
        status=row.status,
        record=json.loads(row.record),
        confidence=json.loads(row.confidence),
        problems=json.loads(row.problems),
        reviewed_at=row.reviewed_at,
    )


class ReviewQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def waiting(self, *, limit: int = 50, status: str = "needs_review") -> list[ReviewItem]:
        """Items in `status`, oldest first (the order a reviewer works through them)."""
        query = (
            select(extractions)
            .where(extractions.c.status == status)
            .order_by(extractions.c.created_at, extractions.c.request_id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [_item(row) for row in connection.execute(query)]

    def count(self, status: str = "needs_review") -> int:
        query = select(func.count()).select_from(extractions).where(extractions.c.status == status)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def get(self, request_id: str) -> ReviewItem | None:
        query = select(extractions).where(extractions.c.request_id == request_id)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return _item(row) if row else None

    def corrections_for(self, request_id: str) -> list[Correction]:
        query = (
            select(corrections.c.field, corrections.c.old_value, corrections.c.new_value)
            .where(corrections.c.request_id == request_id)
            .order_by(corrections.c.correction_id)
        )
        with self.engine.connect() as connection:
            return [Correction(*row) for row in connection.execute(query)]

    def review(
        self,
        request_id: str,
        *,
        record: dict[str, Any],
        changes: list[Correction],
        reviewer: str,
    ) -> ReviewItem:
        """Record one review: the reviewed record (stored form) and a row per changed field.
        Status becomes `corrected` when a field changed, else `confirmed`."""
        now = dt.datetime.now(dt.UTC)
        status = "corrected" if changes else "confirmed"
        try:
            with self.engine.begin() as connection:
                # The status check and the update are one statement: of two reviewers racing
                # on one item (two replicas), exactly one wins.
                updated = connection.execute(
                    update(extractions)
                    .where(extractions.c.request_id == request_id)
                    .where(extractions.c.status.not_in(REVIEWED))
                    .values(status=status, record=json.dumps(record), reviewed_at=now)
                ).rowcount
                if updated == 0:
                    known = connection.execute(
                        select(extractions.c.request_id).where(
                            extractions.c.request_id == request_id
                        )
                    ).first()
                    if known is None:
                        raise UnknownRequestError(request_id)
                    raise AlreadyReviewedError(request_id)
                if changes:
                    connection.execute(
                        insert(corrections),
                        [
                            {
                                "request_id": request_id,
                                "created_at": now,
                                "field": change.field,
                                "old_value": change.old_value,
                                "new_value": change.new_value,
                                "reviewer": reviewer,
                            }
                            for change in changes
                        ],
                    )
        except SQLAlchemyError as error:
            raise LedgerUnavailableError(
                f"cannot write the ledger: {type(error).__name__}"
            ) from error
        item = self.get(request_id)
        if item is None:  # deleted between the two statements (a purge): as if never there
            raise UnknownRequestError(request_id)
        return item
