"""Engines for the shared database, tuned per backend.

SQLite (one machine): WAL journal, so readers never block the writer; `synchronous=NORMAL`,
so a commit does not wait for an fsync (a row survives a killed process, only a power loss
can take the last commits); and a busy timeout, so concurrent writers wait their turn instead
of failing with "database is locked".

Postgres (production, shared by every replica): a bounded pool with a pre-ping (a restarted
server costs one reconnect, not a failed request), a short connect timeout and a bounded wait
for a pooled connection, so an outage turns into fast 503s instead of requests that hang.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from ..private_files import create_owner_only

SQLITE_BUSY_TIMEOUT_MS = 5_000
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10


def normalise_url(database_url: str) -> URL:
    """`postgres://` and `postgresql://` mean Postgres through psycopg 3 (the bundled driver)."""
    url = make_url(database_url)
    if url.drivername in {"postgres", "postgresql"}:
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _tune_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _owner_only_file(database: Path) -> Any:
    """Before SQLite opens the file, create it 0600 if it is missing (a recreated file too)."""

    def before_connect(*_args: Any) -> None:
        # If that fails (e.g. its folder is gone), SQLite reports the error the service handles.
        with suppress(OSError):
            create_owner_only(database)

    return before_connect


def make_engine(database_url: str, *, pool_size: int = 10) -> Engine:
    """An engine for DATABASE_URL; creates the folder of a SQLite file if needed, and the file
    itself owner-only (0600) before SQLite opens it (its -wal/-shm files inherit that mode)."""
    url = normalise_url(database_url)
    if url.drivername.startswith("sqlite"):
        database = url.database
        if database not in (None, "", ":memory:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        if database and database != ":memory:" and not database.startswith("file:"):
            event.listen(engine, "do_connect", _owner_only_file(Path(database)))
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    connect_args: dict[str, Any] = {}
    if url.drivername.startswith("postgresql"):
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args=connect_args,
    )
