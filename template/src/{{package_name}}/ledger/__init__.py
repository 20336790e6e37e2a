"""The request ledger: one row per request and per feedback, never raw PII."""

from .store import Ledger, LedgerUnavailableError, RequestRecord, UnknownRequestError

__all__ = ["Ledger", "LedgerUnavailableError", "RequestRecord", "UnknownRequestError"]
