"""The schema's MetaData. Tables live with their owners (ledger/, retrieval/) and register here.

The naming convention gives every constraint and index a predictable name, so a later
migration can alter or drop it on SQLite and Postgres alike.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def load_all_tables() -> MetaData:
    """The metadata with every table registered (imports the modules that define them)."""
    from ..ledger import tables as _ledger_tables  # noqa: F401
    from ..retrieval import tables as _retrieval_tables  # noqa: F401

    return metadata
