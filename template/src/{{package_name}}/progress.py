"""Progress of a long run (an eval of hundreds of cases on a slow model, the ingest of a large
corpus): done of total with an estimate of the time left. On a terminal one line updates in
place; in a CI log or a pipe, a plain line at most every `every_seconds`, and one at the end."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class Progress:
    """Call `advance()` once per item done and `close()` at the end (prints the last line)."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        unit: str = "items",
        stream: TextIO | None = None,
        interactive: bool | None = None,
        every_seconds: float = 10.0,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.every_seconds = every_seconds
        self.done = 0
        self._started = self._last = time.monotonic()

    def line(self) -> str:
        elapsed = time.monotonic() - self._started
        text = f"{self.label}: {self.done}/{self.total} {self.unit}, {_duration(elapsed)} elapsed"
        if 0 < self.done < self.total:
            left = elapsed / self.done * (self.total - self.done)
            text += f", about {_duration(left)} left"
        return text

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.interactive:
            self.stream.write("\r\033[K" + self.line())
            self.stream.flush()
        elif now - self._last >= self.every_seconds and self.done < self.total:
            self._last = now
            print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")
        print(self.line(), file=self.stream, flush=True)
