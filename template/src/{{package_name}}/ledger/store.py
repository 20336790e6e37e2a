"""Write and read ledger rows through SQLAlchemy Core."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from .tables import feedback, requests

# Built once: SQLAlchemy caches its compiled form, so a request pays only for the round trip.
_INSERT_REQUEST = insert(requests)


class UnknownRequestError(LookupError):
    """Feedback named a request id the ledger has never seen."""


class LedgerUnavailableError(RuntimeError):
    """The ledger database could not be written; requests must not go unrecorded."""


@dataclass
class RequestRecord:
    """One ledger row. The pipeline fills it in as a request moves through the slice."""

    request_id: str
    caller: str
    provider: str
    model: str
    question_chars: int
    outcome: str = "failed"
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


class Ledger:
    """The ledger on the shared database (the schema comes from `db.migrate`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def record_request(self, record: RequestRecord) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(_INSERT_REQUEST, asdict(record))
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
        except SQLAlchemyError as error:
            raise LedgerUnavailableError(
                f"cannot write the ledger: {type(error).__name__}"
            ) from error

    def get_request(self, request_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(requests).where(requests.c.request_id == request_id)
            ).first()
        return dict(row._mapping) if row else None

    def feedback_for(self, request_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(feedback).where(feedback.c.request_id == request_id)
            ).all()
        return [dict(row._mapping) for row in rows]

    def count_requests(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(requests)).scalar_one())
