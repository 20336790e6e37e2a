"""Which limit, if any, refuses a request: checked after auth, before guards and the model.

Order: the caller's request rate, then the caller's daily budget, then the daily budget of all
callers together. A refused request costs nothing and still gets its ledger row (outcome
`limited`, error_code the limit's code), so the ledger shows who was stopped and why.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NoReturn

from ..db.timestamps import next_utc_midnight
from ..ledger import Ledger
from ..settings import Settings
from ..telemetry import Metrics
from .budget import SpendToday, seconds_to_utc_midnight
from .quotas import CallerRateLimit

logger = logging.getLogger(__name__)

LimitCode = Literal["rate_limited", "caller_budget_exhausted", "budget_exhausted"]
LIMIT_CODES: tuple[LimitCode, ...] = ("rate_limited", "caller_budget_exhausted", "budget_exhausted")


class LimitExceededError(Exception):
    """A limit refuses the request: HTTP 429 with `code`, `reason` and Retry-After."""

    def __init__(self, code: LimitCode, reason: str, retry_after: float) -> None:
        super().__init__(f"{code}: {reason}")
        self.code, self.reason, self.retry_after = code, reason, retry_after


@dataclass(frozen=True)
class BudgetStatus:
    """Today's spend against the daily budget, as this replica last read it."""

    daily_budget_usd: float
    spent_today_usd: float
    enforcement: Literal["block", "alert"]
    resets_at: dt.datetime


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Limits:
    """The cost and abuse limits of one replica, from the settings.

    A budget of 0 is no budget (DAILY_BUDGET_USD=0 turns off blocking and alerting; the
    CALLER_* settings are 0, off, by default).
    """

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        metrics: Metrics,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.daily_budget_usd = settings.daily_budget_usd
        self.enforcement = settings.budget_enforcement
        self.caller_daily_budget_usd = settings.caller_daily_budget_usd
        self.rate = (
            CallerRateLimit(settings.caller_requests_per_minute)
            if settings.caller_requests_per_minute
            else None
        )
        self.spend = SpendToday(ledger, refresh_seconds=settings.budget_refresh_seconds, now=now)
        self.metrics = metrics
        self._now = now
        self._alerted_day: dt.date | None = None

    async def check(self, caller: str) -> None:
        """Raise LimitExceededError if a limit refuses this caller's request now."""
        if self.rate is not None:
            retry_after = self.rate.hit(caller)
            if retry_after is not None:
                self._refuse(
                    "rate_limited",
                    f"more than CALLER_REQUESTS_PER_MINUTE={self.rate.per_minute} requests "
                    "from this API key in the last minute",
                    retry_after,
                )
        if not (self.daily_budget_usd or self.caller_daily_budget_usd):
            return
        total, mine = await self.spend.current(caller)
        self.metrics.budget_spent.set(total)
        now = self._now()
        resets = f"it resets at {next_utc_midnight(now):%Y-%m-%d %H:%M} UTC"
        if self.caller_daily_budget_usd and mine >= self.caller_daily_budget_usd:
            self._refuse(
                "caller_budget_exhausted",
                f"this API key has spent {mine:.2f} USD today, its CALLER_DAILY_BUDGET_USD "
                f"of {self.caller_daily_budget_usd:g} USD; {resets}",
                seconds_to_utc_midnight(now),
            )
        if self.daily_budget_usd and total >= self.daily_budget_usd:
            if self.enforcement == "block":
                self._refuse(
                    "budget_exhausted",
                    f"the service has spent {total:.2f} USD today, its DAILY_BUDGET_USD of "
                    f"{self.daily_budget_usd:g} USD; {resets}",
                    seconds_to_utc_midnight(now),
                )
            if self._alerted_day != now.date():
                self._alerted_day = now.date()
                logger.warning(
                    "daily budget exceeded: %.2f USD spent of DAILY_BUDGET_USD=%g; "
                    "BUDGET_ENFORCEMENT=alert lets requests through",
                    total,
                    self.daily_budget_usd,
                )

    def add_spend(self, caller: str, usd: float | None) -> None:
        """This replica's new spend, counted at once (other replicas' at the next read)."""
        self.spend.add(caller, usd)

    async def budget_status(self) -> BudgetStatus:
        total, _ = await self.spend.current()
        return BudgetStatus(
            daily_budget_usd=self.daily_budget_usd,
            spent_today_usd=total,
            enforcement=self.enforcement,
            resets_at=next_utc_midnight(self._now()),
        )

    def _refuse(self, code: LimitCode, reason: str, retry_after: float) -> NoReturn:
        self.metrics.ask_limited.labels(code).inc()
        raise LimitExceededError(code, reason, retry_after)
