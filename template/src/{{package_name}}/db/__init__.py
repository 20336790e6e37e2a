"""The one database every replica shares: engine, schema metadata and migrations.

SQLite (a file) on one machine, Postgres in production; the same SQLAlchemy code for both.
"""

from .engine import make_engine
from .migrate import SchemaOutOfDateError, ensure_schema, migrate, schema_status

__all__ = [
    "SchemaOutOfDateError",
    "ensure_schema",
    "make_engine",
    "migrate",
    "schema_status",
]
