"""Cost and abuse limits, checked right after authentication and before anything costs money.

- the daily budget (DAILY_BUDGET_USD, all callers together, from the shared ledger);
- optional per-caller quotas: CALLER_REQUESTS_PER_MINUTE (per replica) and
  CALLER_DAILY_BUDGET_USD (all replicas, from the ledger).
"""

from ..db.timestamps import next_utc_midnight
from .budget import SpendToday, seconds_to_utc_midnight
from .policy import LimitExceededError, Limits
from .quotas import CallerRateLimit

__all__ = [
    "CallerRateLimit",
    "LimitExceededError",
    "Limits",
    "SpendToday",
    "next_utc_midnight",
    "seconds_to_utc_midnight",
]
