"""The built-in dashboard: cost per outcome, traffic, latency and drift, from the ledger."""

from .routes import dashboard

__all__ = ["dashboard"]
