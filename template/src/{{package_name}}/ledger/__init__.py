"""The request ledger: one row per request and per feedback, never raw PII; and the human
review queue of the extraction slice (reviews.py)."""

from .reviews import AlreadyReviewedError, Correction, ReviewItem, ReviewQueue, ReviewTotals
from .store import (
    ExtractionRow,
    FeedbackExistsError,
    Ledger,
    LedgerUnavailableError,
    RequestRecord,
    UnknownRequestError,
)

__all__ = [
    "AlreadyReviewedError",
    "Correction",
    "ExtractionRow",
    "FeedbackExistsError",
    "Ledger",
    "LedgerUnavailableError",
    "RequestRecord",
    "ReviewItem",
    "ReviewQueue",
    "ReviewTotals",
    "UnknownRequestError",
]
