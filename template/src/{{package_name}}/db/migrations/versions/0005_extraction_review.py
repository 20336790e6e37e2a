"""Use cases and the human review queue: `requests.use_case`, `extractions`, `corrections`.

Every ledger row says which slice served it (existing rows were all grounded Q&A). An
extraction's record waits in `extractions` (personal fields masked) until a reviewer confirms
or corrects it; each corrected field is a row of `corrections`, linked to the request.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with a constant default: no table copy on SQLite, instant on Postgres.
    op.add_column(
        "requests", sa.Column("use_case", sa.String(24), nullable=False, server_default="qa")
    )
    op.create_index(op.f("ix_requests_use_case"), "requests", ["use_case"])
    op.create_table(
        "extractions",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.request_id"],
            name=op.f("fk_extractions_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_extractions")),
    )
    op.create_index(op.f("ix_extractions_created_at"), "extractions", ["created_at"])
    op.create_index(op.f("ix_extractions_status"), "extractions", ["status"])
    op.create_table(
        "corrections",
        sa.Column("correction_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("reviewer", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["extractions.request_id"],
            name=op.f("fk_corrections_request_id_extractions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("correction_id", name=op.f("pk_corrections")),
    )
    op.create_index(op.f("ix_corrections_request_id"), "corrections", ["request_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_corrections_request_id"), table_name="corrections")
    op.drop_table("corrections")
    op.drop_index(op.f("ix_extractions_status"), table_name="extractions")
    op.drop_index(op.f("ix_extractions_created_at"), table_name="extractions")
    op.drop_table("extractions")
    op.drop_index(op.f("ix_requests_use_case"), table_name="requests")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("use_case")
