"""Ledger schema, in the shared database (DATABASE_URL). Changes go through a migration.

`requests` holds no question or answer text: only their sizes, what the guardrails did, and
the ids needed to trace a request (request id, trace id, index snapshot id, cited documents).
The PII-redacted question lives apart, in `request_texts`, only when QUESTION_RETENTION_DAYS
is above 0, and is purged after that many days (the eval-candidate export reads it).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from ..db.metadata import metadata
from ..vocabulary import QA_USE_CASE

requests = Table(
    "requests",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("use_case", String(24), nullable=False, index=True, server_default=QA_USE_CASE),
    Column("caller", String(16), nullable=False, doc="hash prefix of the API key used"),
    Column("provider", String(32), nullable=False),
    Column("model", String(100), nullable=False),
    Column("snapshot_id", String(32), nullable=True),
    Column("outcome", String(16), nullable=False, index=True),
    Column("error_code", String(40), nullable=True),
    Column("guardrail", String(40), nullable=True, doc="rule that refused or abstained"),
    Column("pii_redactions", Integer, nullable=False, default=0),
    Column("question_chars", Integer, nullable=False),
    Column("retrieval_confidence", Float, nullable=True),
    Column("cited_doc_ids", String(500), nullable=False, default=""),
    Column("input_tokens", Integer, nullable=False, default=0),
    Column("output_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=True, doc="USD from the price table; null if unpriced"),
    Column("latency_ms", Float, nullable=False),
    Column("trace_id", String(32), nullable=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column("feedback_id", Integer, primary_key=True, autoincrement=True),
    # One vote per request (migration 0004): a second vote is refused with 409.
    Column(
        "request_id",
        String(32),
        ForeignKey("requests.request_id"),
        nullable=False,
        index=True,
        unique=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("comment", String(1000), nullable=True, doc="PII-redacted free text"),
)

# Apart from `requests`, so question text is purged on its own schedule (maintenance.py) while
# the figures the dashboard and cost per outcome need stay.
request_texts = Table(
    "request_texts",
    metadata,
    Column(
        "request_id",
        String(32),
        ForeignKey("requests.request_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("question", Text, nullable=False, doc="the PII-redacted question"),
    Column("retrieved_doc_ids", Text, nullable=False, default="", doc="comma-separated, by rank"),
)

# The human review queue (migration 0005). An extraction's record, personal fields masked,
# with its per-field confidence and problems (JSON); `status` moves from `needs_review` (or
# `extracted`) to `corrected` or `confirmed` when a reviewer has looked at it.
extractions = Table(
    "extractions",
    metadata,
    Column(
        "request_id",
        String(32),
        ForeignKey("requests.request_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("record", Text, nullable=False, doc="JSON; personal fields masked"),
    Column("confidence", Text, nullable=False, doc="JSON: field -> 0..1"),
    Column("problems", Text, nullable=False, doc="JSON: field -> why it needs review"),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
)

# One row per field a reviewer changed, linked to the request (cost per outcome, evals).
corrections = Table(
    "corrections",
    metadata,
    Column("correction_id", Integer, primary_key=True, autoincrement=True),
    Column(
        "request_id",
        String(32),
        ForeignKey("extractions.request_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("field", String(64), nullable=False),
    Column("old_value", Text, nullable=True, doc="masked when the field is personal"),
    Column("new_value", Text, nullable=True, doc="masked when the field is personal"),
    Column("reviewer", String(16), nullable=False, doc="hash prefix of the reviewer's API key"),
)
