"""Graceful shutdown with a bound: finish in-flight work, or answer 503 and record it.

On SIGTERM the server stops accepting connections and calls `Shutdown.begin()`. From then on
every model call still running gets until SHUTDOWN_GRACE_SECONDS minus a margin; one that has
not finished by then is cancelled and its request is answered 503 `shutting_down` and
recorded in the ledger like any other failure. The margin leaves time for those answers and
rows to be written before the server's own graceful-shutdown timeout (the same setting)
expires, and the whole bound stays below the pod's termination grace period.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

MAX_MARGIN_SECONDS = 3.0


class ShuttingDownError(RuntimeError):
    """The service is shutting down and this request's model call ran out of time."""


class Shutdown:
    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self.cutoff_seconds = grace_seconds - min(MAX_MARGIN_SECONDS, grace_seconds / 4)
        self.began_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deadline: float | None = None
        self._active: set[asyncio.Timeout] = set()

    @property
    def draining(self) -> bool:
        return self.began_at is not None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the serving loop (called at start-up, inside it)."""
        self._loop = loop

    def begin(self) -> None:
        """Start draining. Safe to call from a signal handler or another thread."""
        if self.began_at is not None:
            return
        self.began_at = time.monotonic()
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._arm)

    def _arm(self) -> None:
        assert self._loop is not None  # noqa: S101 - set by attach() before begin() arms
        self._deadline = self._loop.time() + self.cutoff_seconds
        for timeout in self._active:
            timeout.reschedule(self._deadline)

    @asynccontextmanager
    async def bounded(self) -> AsyncIterator[None]:
        """Run the body without a limit, until a shutdown gives it a deadline."""
        try:
            async with asyncio.timeout(self._deadline) as timeout:
                self._active.add(timeout)
                try:
                    yield
                finally:
                    self._active.discard(timeout)
        except TimeoutError as error:
            if self.draining:
                raise ShuttingDownError(
                    "the service is shutting down and the model did not answer in time; retry"
                ) from error
            raise
