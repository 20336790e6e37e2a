"""Model spend of the current UTC day, read from the shared ledger and cached briefly.

The ledger is the one database every replica writes, so the figure is global: all callers and
all replicas. Reading it on every request would add a query per request, so each replica reads
it at most once per BUDGET_REFRESH_SECONDS (one grouped query gives the total and every
caller's share) and adds its own new spend immediately. What other replicas spend shows up at
the next read, so the budget can be overshot by at most what they spend within that window.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from ..db.timestamps import next_utc_midnight, start_of_utc_day
from ..ledger import Ledger
from ..ledger.reports import spend_by_caller_since

logger = logging.getLogger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def seconds_to_utc_midnight(moment: dt.datetime) -> int:
    """Whole seconds until the next 00:00 UTC, at least 1 (the Retry-After of a budget)."""
    return max(1, int(-(-(next_utc_midnight(moment) - moment).total_seconds() // 1)))


@dataclass
class _Figures:
    day: dt.datetime | None = None  # start of the UTC day the figures are for
    read_at: float = float("-inf")  # monotonic time of the last ledger read
    ledger_total: float = 0.0
    ledger_by_caller: dict[str, float] = field(default_factory=dict)
    # Spend this replica added since the last ledger read started (counted on top of it).
    local_total: float = 0.0
    local_by_caller: dict[str, float] = field(default_factory=dict)


class SpendToday:
    """Today's (UTC) model spend: total and per caller, from the ledger plus local spend.

    `refresh_seconds` bounds how stale the ledger part may be. A spend recorded while a read is
    in flight is kept on top of that read, so it may count twice until the next read (the
    budget errs on the safe side), but never goes missing. A failed read keeps the last
    figures (logged): the replica's own spend still counts.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        refresh_seconds: float = 2.0,
        now: Callable[[], dt.datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.refresh_seconds = refresh_seconds
        self._now = now
        self._monotonic = monotonic
        self._figures = _Figures()
        self._lock = threading.Lock()  # guards _figures (spend is added from any thread)
        self._reading = threading.Lock()  # one ledger read at a time per replica

    def add(self, caller: str, usd: float | None) -> None:
        """Count this replica's new spend at once (its ledger row is written, or failed)."""
        if not usd:
            return
        with self._lock:
            figures = self._figures
            figures.local_total += usd
            figures.local_by_caller[caller] = figures.local_by_caller.get(caller, 0.0) + usd

    async def current(self, caller: str | None = None) -> tuple[float, float]:
        """(total spend today, `caller`'s spend today) in USD, reading the ledger when stale."""
        if self._stale() and not self._being_read_today():
            await run_in_threadpool(self.refresh)
        with self._lock:
            figures = self._figures
            total = figures.ledger_total + figures.local_total
            mine = 0.0
            if caller is not None:
                mine = figures.ledger_by_caller.get(caller, 0.0)
                mine += figures.local_by_caller.get(caller, 0.0)
            return total, mine

    def _being_read_today(self) -> bool:
        """Another request is reading the ledger and today's figures exist: use them rather
        than queue behind the read (they are at most one refresh interval older)."""
        with self._lock:
            today = self._figures.day == start_of_utc_day(self._now())
        return today and self._reading.locked()

    def _stale(self) -> bool:
        day = start_of_utc_day(self._now())
        with self._lock:
            figures = self._figures
            return figures.day != day or self._monotonic() - figures.read_at >= self.refresh_seconds

    def refresh(self) -> None:
        """Read today's spend from the ledger (blocking; one read at a time)."""
        with self._reading:
            if not self._stale():
                return  # another request has just read it
            day = start_of_utc_day(self._now())
            started = self._monotonic()
            with self._lock:
                # Spend added from here on is not necessarily in the read: keep it apart.
                before_total = self._figures.local_total
                before_by_caller = dict(self._figures.local_by_caller)
                same_day = self._figures.day == day
            try:
                by_caller = spend_by_caller_since(self.ledger, day)
            except SQLAlchemyError as error:
                logger.warning("cannot read today's spend from the ledger: %s", error)
                with self._lock:
                    self._figures.read_at = started  # retry after the refresh interval
                    if not same_day:
                        self._figures = _Figures(day=day, read_at=started)
                return
            with self._lock:
                figures = self._figures
                local_by_caller = {
                    caller: usd - before_by_caller.get(caller, 0.0)
                    for caller, usd in figures.local_by_caller.items()
                    if usd - before_by_caller.get(caller, 0.0) > 0
                }
                self._figures = _Figures(
                    day=day,
                    read_at=started,
                    ledger_total=sum(by_caller.values()),
                    ledger_by_caller=by_caller,
                    local_total=max(0.0, figures.local_total - before_total),
                    local_by_caller=local_by_caller,
                )
