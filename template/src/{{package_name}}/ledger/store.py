"""Write and read ledger rows through SQLAlchemy Core."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..guardrails import redact_pii
from ..vocabulary import QA_USE_CASE, Outcome
from .tables import extractions, feedback, request_texts, requests

# Built once: SQLAlchemy caches its compiled form, so a request pays only for the round trip.
_INSERT_REQUEST = insert(requests)
_INSERT_TEXT = insert(request_texts)
_INSERT_EXTRACTION = insert(extractions)
# Rows one purge statement deletes at most: short transactions, however large the backlog.
PURGE_BATCH = 1_000


class UnknownRequestError(LookupError):
    """Feedback named a request id the ledger has never seen."""


class FeedbackExistsError(ValueError):
    """The request already has its feedback vote (one per request, a unique index says so)."""


class LedgerUnavailableError(RuntimeError):
    """The ledger database could not be written; requests must not go unrecorded."""


@dataclass
class RequestRecord:
    """One ledger row. The pipeline fills it in as a request moves through the slice."""

    request_id: str
    caller: str
    provider: str
    model: str
    question_chars: int  # characters of the request's text: the question, or the document
    use_case: str = QA_USE_CASE  # the slice that served it (vocabulary.py)
    outcome: str = Outcome.FAILED  # an Outcome; a str, as the column stores it
    latency_ms: float = 0.0
    snapshot_id: str | None = None
    error_code: str | None = None
    guardrail: str | None = None
    pii_redactions: int = 0
    retrieval_confidence: float | None = None
    cited_doc_ids: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    trace_id: str | None = None
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # Not columns of `requests`: the PII-redacted question and the doc ids retrieved (by rank)
    # go to `request_texts`, and only while QUESTION_RETENTION_DAYS is above 0.
    question: str | None = None
    retrieved_doc_ids: str = ""
    # Not a column either: an extraction's review-queue row (`extractions`), written in the
    # same transaction as the request row.
    extraction: ExtractionRow | None = None


@dataclass(frozen=True)
class ExtractionRow:
    """An extraction as the review queue keeps it: personal fields already masked."""

    status: str
    record: dict[str, Any]
    confidence: dict[str, float]
    problems: dict[str, str]


class Ledger:
    """The ledger on the shared database (the schema comes from `db.migrate`).

    `question_retention_days` (QUESTION_RETENTION_DAYS) above 0 keeps the redacted question
    of a request for that many days; 0, the default of a bare handle, stores no text at all.
    """

    def __init__(self, engine: Engine, *, question_retention_days: int = 0) -> None:
        self.engine = engine
        self.question_retention_days = question_retention_days

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def record_request(self, record: RequestRecord) -> None:
        """The request row and, when question text is kept, its text row: one transaction."""
        row = asdict(record)
        question, retrieved = row.pop("question"), row.pop("retrieved_doc_ids")
        row.pop("extraction")
        try:
            with self.engine.begin() as connection:
                connection.execute(_INSERT_REQUEST, row)
                if record.extraction is not None:
                    connection.execute(
                        _INSERT_EXTRACTION,
                        {
                            "request_id": record.request_id,
                            "created_at": record.created_at,
                            "status": record.extraction.status,
                            "record": json.dumps(record.extraction.record),
                            "confidence": json.dumps(record.extraction.confidence),
                            "problems": json.dumps(record.extraction.problems),
                        },
                    )
                if question is not None and self.question_retention_days > 0:
                    connection.execute(
                        _INSERT_TEXT,
                        {
                            "request_id": record.request_id,
                            "created_at": record.created_at,
                            # Redacted by the pipeline already; again here, at the boundary.
                            "question": redact_pii(question).text,
                            "retrieved_doc_ids": retrieved,
                        },
                    )
        except SQLAlchemyError as error:
            raise LedgerUnavailableError(
                f"cannot write the ledger: {type(error).__name__}"
            ) from error

    def record_feedback(self, request_id: str, *, helpful: bool, comment: str | None) -> int:
        try:
            with self.engine.begin() as connection:
                known = connection.execute(
                    select(requests.c.request_id).where(requests.c.request_id == request_id)
                ).first()
                if known is None:
                    raise UnknownRequestError(request_id)
                result = connection.execute(
                    insert(feedback).values(
                        request_id=request_id,
                        created_at=dt.datetime.now(dt.UTC),
                        helpful=helpful,
                        comment=comment,
                    )
                )
                return int(result.inserted_primary_key[0])  # type: ignore[index]
        except IntegrityError as error:
            # The request is known (checked above), so the unique index on request_id refused
            # a second vote, even one racing the first from another replica.
            raise FeedbackExistsError(request_id) from error
        except SQLAlchemyError as error:
            raise LedgerUnavailableError(
                f"cannot write the ledger: {type(error).__name__}"
            ) from error

    def get_request(self, request_id: str) -> dict[str, Any] | None:
        return self._row(requests, request_id)

    def get_request_text(self, request_id: str) -> dict[str, Any] | None:
        return self._row(request_texts, request_id)

    def _row(self, table: Table, request_id: str) -> dict[str, Any] | None:
        """One row of a table keyed by request id, as a dict."""
        with self.engine.connect() as connection:
            row = connection.execute(select(table).where(table.c.request_id == request_id)).first()
        return dict(row._mapping) if row else None

    def purge_question_texts(self, *, now: dt.datetime | None = None, max_batches: int = 10) -> int:
        """Delete question texts older than the retention (all of them at 0), in bounded
        batches of PURGE_BATCH rows, oldest first; returns how many went. A larger backlog
        is finished by the next rounds of the maintenance loop."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=self.question_retention_days)
        expired = (
            select(request_texts.c.request_id)
            .where(request_texts.c.created_at < cutoff)
            .order_by(request_texts.c.created_at)
            .limit(PURGE_BATCH)
        )
        purge = delete(request_texts).where(request_texts.c.request_id.in_(expired))
        deleted = 0
        for _ in range(max_batches):
            with self.engine.begin() as connection:
                count = connection.execute(purge).rowcount
            deleted += count
            if count < PURGE_BATCH:
                break
        return deleted

    def feedback_for(self, request_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(feedback).where(feedback.c.request_id == request_id)
            ).all()
        return [dict(row._mapping) for row in rows]

    def count_requests(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(requests)).scalar_one())
