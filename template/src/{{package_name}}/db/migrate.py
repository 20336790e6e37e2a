"""Schema migrations (Alembic): `python -m <package> migrate` / `make migrate`.

The service never changes the schema behind the operator's back: started against a database
older than its code it refuses to start, naming the command to run (only `APP_ENV=local` and
`test` migrate themselves, for the first local run). A database *newer* than the code is fine:
migrations are additive (expand/contract, docs/adr), so a rollback to the previous release
keeps running on the newer schema.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text

from .engine import is_postgres

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The revision that matches a ledger created before migrations existed (template 0.2.0).
BASELINE_REVISION = "0001"
# Any constant: one migrator at a time per database (several pods may start at once).
ADVISORY_LOCK_ID = 0x7468696E  # "thin"

SchemaState = Literal["current", "behind", "ahead", "empty"]


class SchemaOutOfDateError(RuntimeError):
    """The database schema is older than this release: run the migrations first."""


@dataclass(frozen=True)
class SchemaStatus:
    state: SchemaState
    current: str | None
    head: str

    def describe(self) -> str:
        return f"database at revision {self.current or 'none'}, code expects {self.head}"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration from code (works from an installed wheel, no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"  # noqa: S101 - a packaging bug, not input
    return head


def schema_status(engine: Engine) -> SchemaStatus:
    head = head_revision()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        has_tables = bool(inspect(connection).get_table_names())
    if current is None:
        return SchemaStatus("empty" if not has_tables else "behind", None, head)
    if current == head:
        return SchemaStatus("current", current, head)
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(current)
    except CommandError:
        return SchemaStatus("ahead", current, head)  # written by a newer release
    return SchemaStatus("behind", current, head)


def migrate(engine: Engine) -> SchemaStatus:
    """Upgrade to the newest revision; adopt a pre-migration ledger by stamping the baseline.

    A schema newer than this release (a rollback: the previous release's init container runs
    its own `migrate`) is left alone with a warning, as migrations are additive."""
    status = schema_status(engine)
    if status.state == "ahead":
        logger.warning("%s: newer than this release; leaving it as it is", status.describe())
        return status
    with engine.begin() as connection:
        if is_postgres(engine):
            # Held until commit: concurrent migrators (init containers) wait, then find nothing
            # left to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
        config = alembic_config(connection)
        context = MigrationContext.configure(connection)
        tables = set(inspect(connection).get_table_names())
        if context.get_current_revision() is None and "requests" in tables:
            logger.info("adopting an existing ledger at revision %s", BASELINE_REVISION)
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, "head")
    return schema_status(engine)


def ensure_schema(engine: Engine, *, auto_migrate: bool) -> SchemaStatus:
    """Check the schema at start-up: migrate (local runs) or refuse with the command to run."""
    status = schema_status(engine)
    if status.state == "current":
        return status
    if status.state == "ahead":
        logger.warning(
            "%s: the schema is newer than this release (a rollback?); continuing, as "
            "migrations are additive",
            status.describe(),
        )
        return status
    if auto_migrate:
        logger.info("%s: migrating (APP_ENV allows automatic migrations)", status.describe())
        return migrate(engine)
    raise SchemaOutOfDateError(
        f"{status.describe()}: run `python -m {__package__.split('.')[0]} migrate` "
        "(`make migrate`) before starting this release"
    )


def new_migration(engine: Engine, message: str) -> Path:
    """Write a migration for what the tables gained since the newest revision (autogenerate).

    The database must be at the newest revision first (a scratch SQLite file is fine)."""
    status = schema_status(engine)
    if status.state not in {"current", "empty"}:
        raise SchemaOutOfDateError(f"{status.describe()}: migrate it first")
    with engine.begin() as connection:
        config = alembic_config(connection)
        if status.state == "empty":
            command.upgrade(config, "head")
        script = command.revision(config, message=message, autogenerate=True)
    if script is None or isinstance(script, list):
        raise RuntimeError("expected exactly one new migration (is there more than one head?)")
    return Path(script.path)
