"""Per-caller request rate (CALLER_REQUESTS_PER_MINUTE), with the `limits` library.

A moving window of 60 seconds, in memory: each replica counts on its own, so with N replicas a
caller may make up to N x the limit per minute in total (the load balancer spreads a caller's
requests, so in practice close to the limit per replica). For one global count, put the rate
limit in the API gateway, or swap MemoryStorage for limits' Redis storage.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class CallerRateLimit:
    """At most `per_minute` requests per caller in any 60 seconds, on this replica."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, caller: str) -> float | None:
        """Count one request; None if allowed, else seconds until the caller may retry."""
        if self._limiter.hit(self._item, caller):
            return None
        reset_at, _ = self._limiter.get_window_stats(self._item, caller)
        return max(1.0, math.ceil(reset_at - time.time()))
