"""The request ledger: one row per request and per feedback, never raw PII."""

from .store import Ledger, RequestRecord, UnknownRequestError

__all__ = ["Ledger", "RequestRecord", "UnknownRequestError"]
