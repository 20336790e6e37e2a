"""The request ledger: one row per request and per feedback, never raw PII."""

from .store import (
    FeedbackExistsError,
    Ledger,
    LedgerUnavailableError,
    RequestRecord,
    UnknownRequestError,
)

__all__ = [
    "FeedbackExistsError",
    "Ledger",
    "LedgerUnavailableError",
    "RequestRecord",
    "UnknownRequestError",
]
