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

from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from .store import LedgerUnavailableError, UnknownRequestError
from .tables import corrections, extractions, requests

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
class ReviewTotals:
    """A slice's requests created in a window, and what review made of them."""

    by_outcome: dict[str, int]
    cost_usd: float
    corrected: int
    """Reviewed with at least one field changed."""
    confirmed: int
    """Reviewed and found right as extracted."""
    waiting: int
    """Waiting for review now, whenever submitted."""
    corrected_fields: dict[str, int]
    extracted_then_corrected: int
    """Went downstream as extracted, then a reviewer changed a field: not straight-through."""


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

    def totals(self, use_case: str, since: dt.datetime, until: dt.datetime) -> ReviewTotals:
        """The dashboard's figures for `use_case`'s requests created in [since, until]."""
        in_window = and_(
            requests.c.use_case == use_case, requests.c.created_at.between(since, until)
        )
        by_status = (
            select(extractions.c.status, func.count())
            .join(requests, requests.c.request_id == extractions.c.request_id)
            .where(in_window)
            .group_by(extractions.c.status)
        )
        by_field = (
            select(corrections.c.field, func.count())
            .join(requests, requests.c.request_id == corrections.c.request_id)
            .where(in_window)
            .group_by(corrections.c.field)
        )
        with self.engine.connect() as connection:
            outcomes = {
                str(outcome): int(count)
                for outcome, count in connection.execute(
                    select(requests.c.outcome, func.count())
                    .where(in_window)
                    .group_by(requests.c.outcome)
                )
            }
            cost = connection.execute(
                select(func.coalesce(func.sum(requests.c.cost_usd), 0.0)).where(in_window)
            ).scalar_one()
            statuses = {str(status): int(count) for status, count in connection.execute(by_status)}
            extracted_then_corrected = connection.execute(
                select(func.count())
                .select_from(
                    extractions.join(requests, requests.c.request_id == extractions.c.request_id)
                )
                .where(in_window, requests.c.outcome == "extracted")
                .where(extractions.c.status == "corrected")
            ).scalar_one()
            fields = {str(name): int(count) for name, count in connection.execute(by_field)}
        return ReviewTotals(
            by_outcome=outcomes,
            cost_usd=float(cost),
            corrected=statuses.get("corrected", 0),
            confirmed=statuses.get("confirmed", 0),
            waiting=self.count(),
            corrected_fields=fields,
            extracted_then_corrected=int(extracted_then_corrected),
        )

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
