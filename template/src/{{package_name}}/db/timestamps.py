"""Time as the shared database keeps it: UTC everywhere, and days that start at 00:00 UTC (the
day a budget counts and resets)."""

from __future__ import annotations

import datetime as dt


def as_utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; SQLite hands back naive ones, and the service writes UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def start_of_utc_day(moment: dt.datetime) -> dt.datetime:
    return as_utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def next_utc_midnight(moment: dt.datetime) -> dt.datetime:
    """When the day's budgets reset: the next 00:00 UTC."""
    return start_of_utc_day(moment) + dt.timedelta(days=1)
